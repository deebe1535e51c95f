package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// readYAMLDocs parses every document of a YAML file.
func readYAMLDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var docs []map[string]any
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			return docs
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
}

// dig walks nested maps and lists by key or index ("0").
func dig(v any, path ...string) any {
	for _, k := range path {
		switch m := v.(type) {
		case map[string]any:
			v = m[k]
		case []any:
			i := slices.IndexFunc([]string{"0", "1", "2", "3"}, func(s string) bool { return s == k })
			if i < 0 || i >= len(m) {
				return nil
			}
			v = m[i]
		default:
			return nil
		}
	}
	return v
}

// TestDeploymentFiles: the compose file, Prometheus config and Kubernetes manifests in configs/ parse
// and say what the README promises: two nodes, Redis and Prometheus scraping both; a StatefulSet whose
// readiness probe is /readyz, liveness /healthz, and whose grace period covers the drain timeout.
func TestDeploymentFiles(t *testing.T) {
	compose := readYAMLDocs(t, "../../configs/docker-compose.yml")
	if len(compose) != 1 {
		t.Fatalf("docker-compose.yml: %d documents", len(compose))
	}
	services, _ := compose[0]["services"].(map[string]any)
	for _, name := range []string{"redis", "node-a", "node-b", "prometheus"} {
		if services[name] == nil {
			t.Errorf("docker-compose.yml has no %s service", name)
		}
	}
	prom := readYAMLDocs(t, "../../configs/prometheus.yml")
	targets, _ := dig(prom[0], "scrape_configs", "0", "static_configs", "0", "targets").([]any)
	if len(targets) != 2 {
		t.Errorf("prometheus.yml scrapes %v, want both nodes", targets)
	}

	manifests, _ := filepath.Glob("../../configs/k8s/*.yaml")
	if len(manifests) == 0 {
		t.Fatal("no Kubernetes manifests in configs/k8s")
	}
	kinds := map[string]map[string]any{}
	for _, path := range manifests {
		for _, doc := range readYAMLDocs(t, path) {
			kind, _ := doc["kind"].(string)
			name, _ := dig(doc, "metadata", "name").(string)
			if doc["apiVersion"] == nil || kind == "" || name == "" {
				t.Errorf("%s: a document without apiVersion, kind or metadata.name: %v", path, doc)
				continue
			}
			kinds[kind+"/"+name] = doc
		}
	}
	sts := kinds["StatefulSet/huddle"]
	if sts == nil {
		t.Fatalf("no StatefulSet huddle in %v", manifests)
	}
	for _, want := range []string{"Service/huddle", "Service/redis", "Deployment/redis"} {
		if kinds[want] == nil {
			t.Errorf("the manifests have no %s", want)
		}
	}
	pod := dig(sts, "spec", "template", "spec")
	container := dig(pod, "containers", "0")
	if p := dig(container, "readinessProbe", "httpGet", "path"); p != "/readyz" {
		t.Errorf("readiness probe %v, want /readyz", p)
	}
	if p := dig(container, "livenessProbe", "httpGet", "path"); p != "/healthz" {
		t.Errorf("liveness probe %v, want /healthz", p)
	}
	grace, _ := dig(pod, "terminationGracePeriodSeconds").(int)
	if drain := 10 * time.Minute; time.Duration(grace)*time.Second < drain {
		t.Errorf("terminationGracePeriodSeconds %d is shorter than the drain timeout %s", grace, drain)
	}
	if dig(pod, "hostNetwork") != true {
		t.Error("the pods do not use the host network: clients could not reach their media ports")
	}
	env := dig(container, "env")
	var names []string
	for _, e := range env.([]any) {
		names = append(names, dig(e, "name").(string))
	}
	for _, want := range []string{"HUDDLE_REDIS_URL", "HUDDLE_API_KEY", "HUDDLE_API_SECRET"} {
		if !slices.Contains(names, want) {
			t.Errorf("the node's environment lacks %s (has %s)", want, strings.Join(names, ", "))
		}
	}
}
