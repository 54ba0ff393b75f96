# magnum-capi-graft: build, pack, test and demo.
#
#   make demo    boot a real Magnum unit in a box, graft the real driver, break it, time
#                the repair, sum up per runbook step (DEMOFLAGS=--json: the whole report)
#   make test    everything CI runs: lint, unit tests, brief fuzzing, integration
#   make bench   converged-hook time and re-graft times, measured in the box
#                (BENCHFLAGS="--scenario REGEX --units 0 --hook=false": a part of it)
#   make e2e     the README's operator path on a real Juju (needs ../shared/juju)

SHELL := /bin/bash
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
BUILD   := build
BIN     := $(BUILD)/magnum-capi-graft
CHARM   := $(BUILD)/magnum-capi-graft.charm
# The platform of charmcraft.yaml that `make charm` packs for: charmcraft pack
# makes one charm per platform. E.g. make charm PLATFORM=ubuntu@22.04:amd64
PLATFORM ?= ubuntu@24.04:amd64
FAKEJUJU := $(BUILD)/fakejuju
JUJUC   := $(BUILD)/jujuc
FAKEK8S := $(BUILD)/fakek8s
FAKECLOUD := $(BUILD)/fakecloud
OUTSIDE := $(BUILD)/outside
# What the test bed's Go code finds the built artifacts by (testbed.ArtifactsFromEnv).
ARTIFACTS := CHARM=$(CURDIR)/$(CHARM) FAKEJUJU=$(CURDIR)/$(FAKEJUJU) JUJUC=$(CURDIR)/$(JUJUC) \
	FAKEK8S=$(CURDIR)/$(FAKEK8S) FAKECLOUD=$(CURDIR)/$(FAKECLOUD) OUTSIDE=$(CURDIR)/$(OUTSIDE)
IN_JUJU := cd testbed/juju && export CGO_ENABLED=0 GOFLAGS=-trimpath &&
TOOLS   := $(CURDIR)/.cache/bin
STATICCHECK := $(TOOLS)/staticcheck
FUZZTIME ?= 10s
GO_LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: all build charm fakejuju servers lint unit fuzz integration e2e test demo bench clean

all: charm

build:
	CGO_ENABLED=0 go build -trimpath -ldflags "$(GO_LDFLAGS)" -o $(BIN) ./cmd/magnum-capi-graft

# The fake unit agent and Juju's own hook-tool client, both from the test
# bed's nested module (testbed/juju), which builds Juju 3.6's own code. Every
# go command there runs with the same flags, so Juju's packages are
# compiled once and shared from the build cache by build, vet and test.
fakejuju: servers
	$(IN_JUJU) go build -o $(CURDIR)/$(FAKEJUJU) ./cmd/fakejuju
	$(IN_JUJU) go build -o $(CURDIR)/$(JUJUC) github.com/juju/juju/cmd/jujuc

# The fake management cluster and the smoke test's contract server.
servers:
	CGO_ENABLED=0 go build -trimpath -o $(FAKEK8S) ./testbed/fakek8s/cmd/fakek8s
	CGO_ENABLED=0 go build -trimpath -o $(FAKECLOUD) ./testbed/fakecloud/cmd/fakecloud
	CGO_ENABLED=0 go build -trimpath -o $(OUTSIDE) ./testbed/outside/cmd/outside

charm: build
	go run ./tools/charmpack --platform $(PLATFORM) --binary $(BIN) --output $(CHARM)
	@echo "packed $(CHARM)"

$(STATICCHECK):
	GOBIN=$(TOOLS) go install honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: $(STATICCHECK)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go') $$(git ls-files --others --exclude-standard '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	go mod tidy -diff
	go vet ./...
	go vet -tags integration ./testbed/...
	go vet -tags e2e ./testbed/...
	$(STATICCHECK) ./...
	$(IN_JUJU) go mod tidy -diff && go vet ./... && $(STATICCHECK) ./...

unit:
	go test -count=1 ./...
	$(IN_JUJU) go test -count=1 ./...

# Brief runs of every fuzz target; the seed corpora are in testdata/fuzz.
fuzz:
	@set -e; for pkg in $$(go list ./...); do \
	  for f in $$(go test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
	    go test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

integration: charm fakejuju
	$(ARTIFACTS) \
	  go test -count=1 -tags integration -timeout 80m -v ./testbed/integration/ 2>&1 | tee $(BUILD)/integration.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic)|_test.go'; \
	  exit $${PIPESTATUS[0]}

# The operator's path on a real Juju 4.0 controller and Magnum machine
# (testbed/realjuju), or on E2E_MODEL. It needs a Juju release:
# ../shared/juju beside the repository, or REALJUJU_DIST; without one (and
# no E2E_MODEL) it is skipped and says so. Real Juju needs no fake agent.
e2e: charm servers
	CHARM=$(CURDIR)/$(CHARM) FAKEK8S=$(CURDIR)/$(FAKEK8S) FAKECLOUD=$(CURDIR)/$(FAKECLOUD) CGO_ENABLED=0 \
	  go test -count=1 -tags e2e -timeout 60m -v ./testbed/e2e/ 2>&1 | tee $(BUILD)/e2e.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic|[0-9:]{8} (e2e|realjuju|\$$ juju))|_test.go'; \
	  exit $${PIPESTATUS[0]}

# make test runs the real-Juju suite too when a Juju release is there (CI
# has ../shared beside its clone).
JUJU_RELEASE := $(or $(REALJUJU_DIST),$(wildcard ../shared/juju))

test: lint unit fuzz integration $(if $(JUJU_RELEASE),e2e)

demo: charm fakejuju
	$(ARTIFACTS) go run ./testbed/demo $(DEMOFLAGS)

bench: charm fakejuju
	$(ARTIFACTS) CGO_ENABLED=0 go run ./testbed/bench $(BENCHFLAGS)

clean:
	rm -rf $(BUILD)
