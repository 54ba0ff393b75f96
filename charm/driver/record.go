package driver

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"hash"
	"io"
	"path"
	"strconv"
	"strings"
)

// recordEntry is one line of a dist-info RECORD: a path relative to the
// site directory, its digest and its size. RECORD itself (and its optional
// signatures) carry neither.
type recordEntry struct {
	Path   string
	Algo   string
	Digest []byte
	Size   int64
}

func (e recordEntry) hasHash() bool { return e.Algo != "" }

// parseRecord reads a RECORD file. Any entry that could reach outside the
// directory it describes is refused here, once, for every caller.
func parseRecord(data []byte) ([]recordEntry, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("parse RECORD: %w", err)
	}
	seen := make(map[string]bool, len(rows))
	var entries []recordEntry
	var total int64
	for i, row := range rows {
		if len(row) == 1 && strings.TrimSpace(row[0]) == "" {
			continue
		}
		if len(row) != 3 {
			return nil, fmt.Errorf("parse RECORD line %d: want 3 fields, got %d", i+1, len(row))
		}
		e := recordEntry{Path: row[0]}
		if err := checkMemberPath(e.Path); err != nil {
			return nil, fmt.Errorf("RECORD line %d: %w", i+1, err)
		}
		if seen[e.Path] {
			return nil, fmt.Errorf("RECORD lists %q twice", clip(e.Path))
		}
		seen[e.Path] = true
		if row[1] != "" {
			algo, digest, ok := strings.Cut(row[1], "=")
			if !ok || newHash(algo) == nil {
				return nil, fmt.Errorf("RECORD entry %q: unsupported hash %q", clip(e.Path), clip(row[1]))
			}
			// The digest is urlsafe base64 without padding; tolerate padding.
			d, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(digest, "="))
			if err != nil || len(d) != newHash(algo).Size() {
				return nil, fmt.Errorf("RECORD entry %q: malformed %s digest", clip(e.Path), algo)
			}
			e.Algo, e.Digest = algo, d
			if row[2] == "" {
				return nil, fmt.Errorf("RECORD entry %q has a hash but no size", clip(e.Path))
			}
		} else if !unhashedRecordFile(e.Path) {
			return nil, fmt.Errorf("RECORD entry %q has no hash", clip(e.Path))
		}
		if row[2] != "" {
			n, err := strconv.ParseInt(row[2], 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("RECORD entry %q: bad size %q", clip(e.Path), clip(row[2]))
			}
			if n > maxMemberSize {
				return nil, fmt.Errorf("RECORD entry %q: %d bytes is more than a driver file can be", clip(e.Path), n)
			}
			total += n
			if total > maxInstallSize {
				return nil, fmt.Errorf("RECORD lists more than %d MiB of files", maxInstallSize>>20)
			}
			e.Size = n
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// unhashedRecordFile reports whether p may appear in RECORD without a hash:
// only RECORD itself and its signatures, which cannot contain their own hash.
func unhashedRecordFile(p string) bool {
	dir, base := path.Split(p)
	if !strings.HasSuffix(dir, ".dist-info/") || strings.Count(dir, "/") != 1 {
		return false
	}
	return base == "RECORD" || base == "RECORD.jws" || base == "RECORD.p7s"
}

func newHash(algo string) hash.Hash {
	switch algo {
	case "sha256":
		return sha256.New()
	case "sha384":
		return sha512.New384()
	case "sha512":
		return sha512.New()
	}
	return nil
}

// checkContent reads at most e.Size+1 bytes from r and checks them against
// e. It returns the content, so a caller writes only what was verified.
func checkContent(e recordEntry, r io.Reader) ([]byte, error) {
	limit := e.Size + 1
	if !e.hasHash() {
		limit = maxMemberSize + 1
	}
	data, err := io.ReadAll(io.LimitReader(r, limit))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", clip(e.Path), err)
	}
	if !e.hasHash() {
		if int64(len(data)) > maxMemberSize {
			return nil, fmt.Errorf("%s: larger than %d bytes", clip(e.Path), maxMemberSize)
		}
		return data, nil
	}
	if int64(len(data)) != e.Size {
		return nil, fmt.Errorf("%s: size mismatch: RECORD says %d bytes, found %d or more", clip(e.Path), e.Size, len(data))
	}
	h := newHash(e.Algo)
	h.Write(data)
	if !bytes.Equal(h.Sum(nil), e.Digest) {
		return nil, fmt.Errorf("%s: %s mismatch with RECORD", clip(e.Path), e.Algo)
	}
	return data, nil
}

// checkMemberPath refuses any archive or RECORD path that is not a plain
// relative path inside the directory it will be extracted to.
func checkMemberPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("empty path")
	case strings.ContainsAny(p, "\\\x00\n\r"):
		return fmt.Errorf("path %q contains a forbidden character", clip(p))
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("path %q is absolute", clip(p))
	case path.Clean(p) != p || p == "." || p == ".." || strings.HasPrefix(p, "../"):
		return fmt.Errorf("path %q escapes the install directory or is not clean", clip(p))
	}
	return nil
}
