//go:build !unix

package doctor

// oNoFollow: no such open flags here; the Lstat and SameFile checks stand alone.
const oNoFollow = 0
