package hooktool

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Decode decodes config-get's or action-get's answer into v, a struct whose
// json tags name the options or parameters (as goops' GetConfig and
// GetParams do: json.Unmarshal of the tool's output). Keys v does not name
// are ignored; fields whose key is absent keep what v held, so a caller
// sets defaults first. A value of the wrong type is an error naming the
// key, never quoting the value.
func Decode(raw map[string]any, v any) error {
	b, err := json.Marshal(raw)
	if err != nil {
		return fmt.Errorf("cannot decode: %w", err)
	}
	err = json.Unmarshal(b, v)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("%s must be %s", te.Field, kind(te.Type.Kind().String()))
	}
	return err
}

// kind says a Go kind the way charmcraft.yaml types are said.
func kind(k string) string {
	switch k {
	case "int", "int64", "int32":
		return "an integer"
	case "bool":
		return "a boolean"
	case "string", "ptr":
		return "a string"
	}
	return "a " + k
}
