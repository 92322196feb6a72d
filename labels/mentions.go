package labels

// Mentions reports whether the entry names one of the wanted connectors,
// including an entry whose connector label is invalid but names one, so that
// a command scoped to a connector still shows that secret's problem.
func (e Entry) Mentions(wanted map[string]bool) bool {
	for _, c := range e.Connectors {
		if wanted[c] {
			return true
		}
	}
	return e.Connectors == nil && mentionsAny(e.Labels[ConnectorKey], wanted)
}
