//go:build !unix

package main

// oNoFollow: no such open flag here; the Lstat check stands alone.
const oNoFollow = 0
