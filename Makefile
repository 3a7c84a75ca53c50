# ocf-ipaddr — build, install, test, demo.
#   make            build the agent (release)
#   make install    install into $(DESTDIR) like a distro package
#   make check      install test dependencies, lint, run every test
#   make demo       show a VIP failover between two namespace nodes

DESTDIR ?=
PREFIX ?= /usr
OCF_ROOT ?= $(PREFIX)/lib/ocf
AGENT_DIR = $(OCF_ROOT)/resource.d/rust
DOC_DIR = $(PREFIX)/share/doc/ocf-ipaddr
DATA_DIR = $(PREFIX)/share/ocf-ipaddr
HA_RESOURCE_DIR ?= /etc/ha.d/resource.d
CARGO ?= cargo
BIN = target/release/IPaddr
STAGE = $(CURDIR)/target/stage

.PHONY: all build install uninstall check deps lint test demo clean

all: build

build:
	$(CARGO) build --release --locked

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(AGENT_DIR)/IPaddr
	install -D -m 0644 ocf-metadata/IPaddr.xml $(DESTDIR)$(DATA_DIR)/IPaddr.xml
	@if [ -f heartbeat-scripts/IPaddr ]; then \
		install -D -m 0755 heartbeat-scripts/IPaddr $(DESTDIR)$(HA_RESOURCE_DIR)/IPaddr; fi
	install -d $(DESTDIR)$(DOC_DIR)
	install -m 0644 README.md $(DESTDIR)$(DOC_DIR)/
	@for doc in docs/*.md; do [ -f "$$doc" ] && install -m 0644 "$$doc" $(DESTDIR)$(DOC_DIR)/ || true; done

uninstall:
	rm -f $(DESTDIR)$(AGENT_DIR)/IPaddr $(DESTDIR)$(DATA_DIR)/IPaddr.xml $(DESTDIR)$(HA_RESOURCE_DIR)/IPaddr
	rm -rf $(DESTDIR)$(DOC_DIR)

deps:
	tests/tools/install-deps.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --locked --all-targets -- -D warnings

# The tests run against the agent as `make install` lays it out.
test:
	rm -rf $(STAGE)
	$(MAKE) --no-print-directory install DESTDIR=$(STAGE)
	OCF_IPADDR_AGENT=$(STAGE)$(AGENT_DIR)/IPaddr OCF_IPADDR_WRAPPER=$(STAGE)$(HA_RESOURCE_DIR)/IPaddr \
		$(CARGO) nextest run --release --locked --no-fail-fast 2>&1

check: deps lint test

demo: build
	tests/tools/install-deps.sh
	tests/tools/demo.sh $(BIN)

clean:
	$(CARGO) clean
