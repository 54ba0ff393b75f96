package outside

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"gopkg.in/yaml.v3"
)

// DefaultChart is the chart the driver installs unless helm-chart-name says
// otherwise (magnum_capi_helm/conf.py: helm_chart_name, default
// "openstack-cluster").
const DefaultChart = "openstack-cluster"

// DefaultVersions are the openstack-cluster versions the serve command's
// repository holds unless told otherwise: the driver's built-in default
// (0.10.1 in driver 1.2.0 to 1.4.0), a middle release, and the release the
// driver's CI runs (0.23.0).
var DefaultVersions = []string{"0.10.1", "0.16.0", "0.23.0"}

// Chart is one chart the repository serves, at each of Versions.
type Chart struct {
	Name     string
	Versions []string
}

// chartTime is the time every archive member and index entry carries, so
// a chart's bytes, and with them its digest, are the same on every start.
var chartTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// Archive builds the chart archive (NAME-VERSION.tgz) helm packages for
// name at version: NAME/Chart.yaml, NAME/values.yaml and one template. It is
// a valid chart (helm pull, show and template load it) standing in for the
// real one: its templates render one ConfigMap, not a cluster.
func Archive(name, version string) ([]byte, error) {
	if _, err := semver.StrictNewVersion(version); err != nil {
		return nil, fmt.Errorf("chart %s version %q is not semver: %w", name, version, err)
	}
	chartYAML, err := yaml.Marshal(map[string]any{
		"apiVersion":  "v2",
		"name":        name,
		"version":     version,
		"appVersion":  version,
		"type":        "application",
		"description": "Test-bed stand-in for " + name + " (serves a ConfigMap, builds no cluster)",
	})
	if err != nil {
		return nil, err
	}
	members := []struct {
		name string
		data []byte
	}{
		{name + "/Chart.yaml", chartYAML},
		{name + "/values.yaml", []byte("# Values the driver sends on stdin replace these.\nclusterNetworking: {}\n")},
		{name + "/templates/configmap.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-chart\ndata:\n  chart: {{ .Chart.Name }}-{{ .Chart.Version }}\n")},
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	zw.ModTime = chartTime
	tw := tar.NewWriter(zw)
	for _, m := range members {
		hdr := &tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), ModTime: chartTime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(m.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ArchiveName is the file name helm gives a packaged chart.
func ArchiveName(name, version string) string { return name + "-" + version + ".tgz" }

// IndexEntry is one chart version in index.yaml, with the fields helm's
// repo.ChartVersion reads (helm.sh/helm/v3 pkg/repo/index.go).
type IndexEntry struct {
	APIVersion  string    `yaml:"apiVersion"`
	AppVersion  string    `yaml:"appVersion"`
	Created     time.Time `yaml:"created"`
	Description string    `yaml:"description"`
	Digest      string    `yaml:"digest"`
	Name        string    `yaml:"name"`
	Type        string    `yaml:"type"`
	URLs        []string  `yaml:"urls"`
	Version     string    `yaml:"version"`
}

// Index is a chart repository's index.yaml.
type Index struct {
	APIVersion string                  `yaml:"apiVersion"`
	Entries    map[string][]IndexEntry `yaml:"entries"`
	Generated  time.Time               `yaml:"generated"`
}

// built is a repository's content: the index and every archive by path.
type built struct {
	index    []byte
	archives map[string][]byte
}

// build makes the index and archives of charts, with absolute URLs under
// baseURL (https://charts.example), entries newest first as `helm repo
// index` writes them.
func build(baseURL string, charts []Chart) (built, error) {
	b := built{archives: map[string][]byte{}}
	idx := Index{APIVersion: "v1", Entries: map[string][]IndexEntry{}, Generated: chartTime}
	for _, c := range charts {
		versions := append([]string(nil), c.Versions...)
		var parseErr error
		sort.SliceStable(versions, func(i, j int) bool {
			a, errA := semver.NewVersion(versions[i])
			b, errB := semver.NewVersion(versions[j])
			if errA != nil || errB != nil {
				parseErr = fmt.Errorf("chart %s: a version is not semver", c.Name)
				return false
			}
			return a.GreaterThan(b)
		})
		if parseErr != nil {
			return b, parseErr
		}
		for _, v := range versions {
			data, err := Archive(c.Name, v)
			if err != nil {
				return b, err
			}
			file := ArchiveName(c.Name, v)
			b.archives["/"+file] = data
			sum := sha256.Sum256(data)
			idx.Entries[c.Name] = append(idx.Entries[c.Name], IndexEntry{
				APIVersion:  "v2",
				AppVersion:  v,
				Created:     chartTime,
				Description: "Test-bed stand-in for " + c.Name + " (serves a ConfigMap, builds no cluster)",
				Digest:      hex.EncodeToString(sum[:]),
				Name:        c.Name,
				Type:        "application",
				URLs:        []string{strings.TrimSuffix(baseURL, "/") + "/" + file},
				Version:     v,
			})
		}
	}
	index, err := yaml.Marshal(idx)
	if err != nil {
		return b, err
	}
	b.index = index
	return b, nil
}

// ParseCharts reads --chart values: NAME=V1,V2,...
func ParseCharts(specs []string) ([]Chart, error) {
	var out []Chart
	for _, s := range specs {
		name, list, ok := strings.Cut(s, "=")
		if !ok || name == "" || list == "" {
			return nil, fmt.Errorf("--chart %q: want NAME=VERSION[,VERSION...]", s)
		}
		c := Chart{Name: name}
		for _, v := range strings.Split(list, ",") {
			v = strings.TrimSpace(v)
			if _, err := semver.StrictNewVersion(v); err != nil {
				return nil, fmt.Errorf("--chart %q: %q is not a semver version", s, v)
			}
			c.Versions = append(c.Versions, v)
		}
		out = append(out, c)
	}
	return out, nil
}
