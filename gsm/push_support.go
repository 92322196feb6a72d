package gsm

// NewPayload builds a Payload outside the client, for fakes of a Secret
// Manager in other packages' tests. It is not Verified: no checksum was
// compared. Payloads read from Secret Manager come from Access.
func NewPayload(secretID, version string, data []byte) *Payload {
	return &Payload{Secret: secretID, Version: version, data: data}
}
