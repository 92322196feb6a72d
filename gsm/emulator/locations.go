package emulator

import (
	"context"
	"slices"
	"strconv"

	"google.golang.org/genproto/googleapis/cloud/location"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// defaultLocations are the regions ListLocations reports besides the ones the
// seed and its regional secrets name: a few of the regions GSM serves, so a
// client that picks a region from the list finds familiar ones.
var defaultLocations = []string{
	"asia-east1", "asia-northeast1", "asia-south1", "australia-southeast1",
	"europe-west1", "europe-west2", "europe-west3", "europe-west4",
	"northamerica-northeast1", "southamerica-east1",
	"us-central1", "us-east1", "us-east4", "us-west1", "us-west2",
}

// DefaultLocations returns the regions every emulator reports.
func DefaultLocations() []string { return slices.Clone(defaultLocations) }

// locations serves google.cloud.location.Locations, the mixin Secret Manager
// clients reach through ListLocations and GetLocation.
type locations struct{ s *Server }

// locationIDs returns the sorted regions the server knows: the defaults, the
// seed's, and those of its regional secrets and user-managed replicas.
func (s *Server) locationIDs() []string {
	ids := append(slices.Clone(defaultLocations), s.extraLocations...)
	s.mu.RLock()
	for _, sec := range s.secrets {
		if sec.location != "" {
			ids = append(ids, sec.location)
		}
		for _, r := range sec.replication.GetUserManaged().GetReplicas() {
			ids = append(ids, r.GetLocation())
		}
	}
	s.mu.RUnlock()
	slices.Sort(ids)
	return slices.Compact(ids)
}

func (l locations) locationProto(id string) *location.Location {
	return &location.Location{Name: "projects/" + l.s.project + "/locations/" + id, LocationId: id, DisplayName: id}
}

// ListLocations lists the server's locations in ID order, paged by offset.
// Filters are refused: the emulator's locations carry no labels to filter on.
func (l locations) ListLocations(_ context.Context, req *location.ListLocationsRequest) (*location.ListLocationsResponse, error) {
	r, err := parseName(req.GetName(), "parent")
	if err != nil || r.location != "" {
		return nil, status.Errorf(codes.InvalidArgument, "%q is not a project resource name: want projects/P", req.GetName())
	}
	if err := l.s.checkProject(r); err != nil {
		return nil, err
	}
	if req.GetFilter() != "" {
		return nil, status.Errorf(codes.InvalidArgument, "filter %q: the emulator's locations carry no labels, so ListLocations takes no filter", req.GetFilter())
	}
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(req.GetPageToken(), "locations", req.GetName(), "")
	if err != nil {
		return nil, err
	}
	ids := l.s.locationIDs()
	start, _ := slices.BinarySearch(ids, after)
	if after != "" && start < len(ids) && ids[start] == after {
		start++
	}
	resp := &location.ListLocationsResponse{}
	for i := start; i < len(ids); i++ {
		if len(resp.Locations) == size {
			resp.NextPageToken = encodeToken(pageToken{Kind: "locations", Parent: req.GetName(), After: ids[i-1]})
			break
		}
		resp.Locations = append(resp.Locations, l.locationProto(ids[i]))
	}
	return resp, nil
}

// GetLocation returns one of the server's locations.
func (l locations) GetLocation(_ context.Context, req *location.GetLocationRequest) (*location.Location, error) {
	r, err := parseName(req.GetName(), "parent")
	if err != nil || r.location == "" {
		return nil, status.Errorf(codes.InvalidArgument, "%q is not a location resource name: want projects/P/locations/L", req.GetName())
	}
	if err := l.s.checkProject(r); err != nil {
		return nil, err
	}
	if _, found := slices.BinarySearch(l.s.locationIDs(), r.location); !found {
		return nil, status.Errorf(codes.NotFound, "Location [%s] not found: the emulator knows %s.", req.GetName(), strconv.Itoa(len(l.s.locationIDs()))+" locations (see ListLocations)")
	}
	return l.locationProto(r.location), nil
}
