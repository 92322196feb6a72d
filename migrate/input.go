package migrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"
)

// MaxScriptSize caps what ReadScriptFile reads. Real scripts hold at most a
// few hundred lines (tens of KiB); the cap keeps a wrong path (a log, a
// binary) from costing memory and time.
const MaxScriptSize = 4 << 20

// ErrBadInput is the reason inside every error about the input itself: a
// script or workflow that is missing, empty, binary, too large or does not
// parse. Callers map it to a usage exit status with errors.Is.
var ErrBadInput = errors.New("bad input")

// InputError is a problem with an input file, with a position when there is
// one (Line and Col start at 1; 0 means unknown).
type InputError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *InputError) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Is makes errors.Is(err, ErrBadInput) true for every InputError.
func (e *InputError) Is(target error) bool { return target == ErrBadInput }

// ReadScriptFile reads and parses the legacy script at path. It refuses a
// directory, anything that is not a regular file (a FIFO would block), a file
// over MaxScriptSize, and everything ReadScript refuses. It stops with
// ctx's error once ctx is cancelled.
func ReadScriptFile(ctx context.Context, path string) (*Script, error) {
	p, err := ParseScriptFile(ctx, path)
	if err != nil {
		return nil, err
	}
	return p.Analyze(ctx)
}

// ParseScriptFile is the first half of ReadScriptFile: read and parse, no
// analysis yet.
func ParseScriptFile(ctx context.Context, path string) (*ParsedScript, error) {
	data, err := readTextFile(path, "script", "tools/bin/ci_credentials.sh")
	if err != nil {
		return nil, err
	}
	return ParseScript(ctx, path, data)
}

// readTextFile reads a bounded regular file, with errors that name it.
func readTextFile(path, what, example string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &InputError{File: path, Msg: fmt.Sprintf("no such %s file", what)}
		}
		return nil, &InputError{File: path, Msg: fmt.Sprintf("cannot read the %s: %v", what, unwrapPath(err))}
	}
	if fi.IsDir() {
		return nil, &InputError{File: path, Msg: fmt.Sprintf("is a directory; give the %s file itself (e.g. %s)", what, example)}
	}
	if !fi.Mode().IsRegular() {
		return nil, &InputError{File: path, Msg: fmt.Sprintf("is not a regular file (%s)", fi.Mode().Type())}
	}
	if fi.Size() > MaxScriptSize {
		return nil, tooLarge(path, fi.Size())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &InputError{File: path, Msg: fmt.Sprintf("cannot read the %s: %v", what, unwrapPath(err))}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxScriptSize+1))
	if err != nil {
		return nil, &InputError{File: path, Msg: fmt.Sprintf("cannot read the %s: %v", what, unwrapPath(err))}
	}
	if len(data) > MaxScriptSize {
		return nil, tooLarge(path, int64(len(data)))
	}
	return data, nil
}

func tooLarge(path string, size int64) error {
	return &InputError{File: path, Msg: fmt.Sprintf("is %.1f MiB, over the %d MiB limit: a credentials script is a few hundred lines; is this the right file?",
		float64(size)/(1<<20), MaxScriptSize>>20)}
}

// unwrapPath drops the path an *os.PathError repeats, since InputError names it.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkText refuses empty, oversized and binary input, naming the line of
// the first offending byte.
func checkText(name string, src []byte) error {
	if len(bytes.TrimSpace(src)) == 0 {
		return &InputError{File: name, Msg: "is empty"}
	}
	if len(src) > MaxScriptSize {
		return tooLarge(name, int64(len(src)))
	}
	if i := bytes.IndexByte(src, 0); i >= 0 {
		return &InputError{File: name, Line: lineAt(src, i), Msg: "is a binary file (it holds a NUL byte), not a shell script"}
	}
	if !utf8.Valid(src) {
		i := firstInvalidUTF8(src)
		return &InputError{File: name, Line: lineAt(src, i), Msg: "is not UTF-8 text (invalid byte sequence), not a shell script"}
	}
	return nil
}

func lineAt(src []byte, offset int) int { return bytes.Count(src[:offset], []byte("\n")) + 1 }

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}
