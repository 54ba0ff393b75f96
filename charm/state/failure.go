package state

import "strings"

// The memory of a graft that made a service fail (Failure): the hash of
// its desired state and the message. While config and secrets stay the
// same, later hooks say the message instead of restarting services into
// the same failure.

// FailedBefore returns the message of the failure remembered for the
// desired state hash, if any.
func (d Dir) FailedBefore(hash string) (string, bool) {
	b, err := d.Read(Failure)
	if err != nil {
		return "", false
	}
	h, msg, ok := strings.Cut(string(b), "\n")
	return msg, ok && h == hash
}

// RememberFailure remembers that the desired state hash failed with msg.
func (d Dir) RememberFailure(hash, msg string) error {
	return d.Write(Failure, []byte(hash+"\n"+msg))
}

// ClearFailure forgets any failure: a graft has succeeded.
func (d Dir) ClearFailure() error {
	_, err := d.Remove(Failure)
	return err
}
