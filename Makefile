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
MAN_DIR = $(PREFIX)/share/man/man7
HA_RESOURCE_DIR ?= /etc/ha.d/resource.d
CARGO ?= cargo
# The agent is linked statically: no dynamic loader at every start saves
# about a third of a monitor's cost. With --target, the flags reach only
# the agent and tests, not build scripts and proc-macros.
HOST := $(shell rustc -vV | sed -n 's/^host: //p')
STATIC = RUSTFLAGS="-C target-feature=+crt-static" $(CARGO)
TARGET_FLAGS = --release --locked --target $(HOST)
# The tests are built in the light `tests` profile (Cargo.toml) with the
# crash points compiled in: the IPaddr cargo builds beside them is the
# enumeration's agent (tests/crash_points.rs). The agent under test is
# the release build, staged by `make install`.
TEST_FLAGS = --cargo-profile tests --locked --target $(HOST) --features crash-points
BIN = target/$(HOST)/release/IPaddr
STAGE = $(CURDIR)/target/stage
MAN = target/man/ocf_rust_IPaddr.7
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
ARCH := $(shell dpkg --print-architecture 2>/dev/null || uname -m)
DEB = target/ocf-ipaddr_$(VERSION)_$(ARCH).deb
# Reproducible man page date: the last commit's, else today's.
MAN_DATE := $(shell git log -1 --format=%cs 2>/dev/null || date -u +%F)

.PHONY: all build man install uninstall check deps debian13-root lint test demo bench deb rpm clean crash-points

all: build man

build:
	$(STATIC) build $(TARGET_FLAGS)

# The man page is generated from the metadata, like resource-agents' pages.
man: $(MAN)
$(MAN): ocf-metadata/IPaddr.xml docs/man.xsl
	@command -v xsltproc >/dev/null || { echo "xsltproc is needed for the man page: apt-get install xsltproc" >&2; exit 1; }
	mkdir -p $(dir $@)
	xsltproc --nonet --novalid --stringparam date $(MAN_DATE) --stringparam version $(VERSION) \
		docs/man.xsl ocf-metadata/IPaddr.xml > $@.tmp && mv $@.tmp $@

install: build man
	install -D -m 0755 $(BIN) $(DESTDIR)$(AGENT_DIR)/IPaddr
	install -d $(DESTDIR)$(MAN_DIR)
	gzip -9n < $(MAN) > $(DESTDIR)$(MAN_DIR)/ocf_rust_IPaddr.7.gz
	install -D -m 0644 ocf-metadata/IPaddr.xml $(DESTDIR)$(DATA_DIR)/IPaddr.xml
	@if [ -f heartbeat-scripts/IPaddr ]; then \
		install -D -m 0755 heartbeat-scripts/IPaddr $(DESTDIR)$(HA_RESOURCE_DIR)/IPaddr; fi
	install -d $(DESTDIR)$(DOC_DIR)
	install -m 0644 README.md $(DESTDIR)$(DOC_DIR)/
	@for doc in docs/*.md; do [ -f "$$doc" ] && install -m 0644 "$$doc" $(DESTDIR)$(DOC_DIR)/ || true; done

uninstall:
	rm -f $(DESTDIR)$(AGENT_DIR)/IPaddr $(DESTDIR)$(DATA_DIR)/IPaddr.xml $(DESTDIR)$(HA_RESOURCE_DIR)/IPaddr
	rm -f $(DESTDIR)$(MAN_DIR)/ocf_rust_IPaddr.7.gz
	rm -rf $(DESTDIR)$(DOC_DIR)

deps:
	tests/tools/install-deps.sh

# Debian 13's cluster stack (Pacemaker 3.0, pcs 0.12, crmsh 5) in a root
# under target/, built once; the cluster tests run on it and on the host's.
debian13-root: deps
	tests/tools/debian13-root.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --locked --all-targets --all-features -- -D warnings

# The last release before each resource kept its files under its own
# name, built once from git: the upgrade tests start VIPs with it and
# carry on with this version, and make bench measures it beside this one.
# make bench takes it as released; make check only runs it, so it builds
# it in the tests' light profile (this Cargo.toml's, appended to the old
# one) into the tests' target directory, where the tests' build then
# reuses the dependencies it compiled.
PREVIOUS_RELEASE = f2dc48a47de7f492f006cf43ddb09b22bc981af3
PREVIOUS = target/previous/IPaddr
PREVIOUS_TESTED = target/previous-tests/IPaddr
define previous_source
	rm -rf target/previous-src
	mkdir -p target/previous-src
	git archive $(PREVIOUS_RELEASE) | tar -x -C target/previous-src
endef
$(PREVIOUS):
	$(previous_source)
	cd target/previous-src && $(STATIC) build $(TARGET_FLAGS) --bin IPaddr --target-dir $(CURDIR)/target/previous-build
	install -D -m 0755 target/previous-build/$(HOST)/release/IPaddr $@
$(PREVIOUS_TESTED):
	$(previous_source)
	{ echo; sed -n '/^\[profile.tests\]/,/^$$/p' Cargo.toml; } >> target/previous-src/Cargo.toml
	cd target/previous-src && $(STATIC) build --profile tests --locked --target $(HOST) --bin IPaddr --target-dir $(CURDIR)/target
	install -D -m 0755 target/$(HOST)/tests/IPaddr $@

# The tests run against the agent as `make install` lays it out, and
# against the .deb.
test: deb $(PREVIOUS_TESTED)
	rm -rf $(STAGE) target/$(HOST)/tmp/crash-points
	$(MAKE) --no-print-directory install DESTDIR=$(STAGE)
	OCF_IPADDR_AGENT=$(STAGE)$(AGENT_DIR)/IPaddr OCF_IPADDR_WRAPPER=$(STAGE)$(HA_RESOURCE_DIR)/IPaddr \
		OCF_IPADDR_DEB=$(CURDIR)/$(DEB) OCF_IPADDR_STAGE=$(STAGE) OCF_IPADDR_PREVIOUS=$(CURDIR)/$(PREVIOUS_TESTED) \
		$(STATIC) nextest run $(TEST_FLAGS) --no-fail-fast 2>&1; \
		status=$$?; tests/tools/slowest.sh target/nextest/default/junit.xml; \
		[ $$status -ne 0 ] || tests/tools/crash-points-total.sh target/$(HOST)/tmp/crash-points; exit $$status

# A Debian package built from the same staged install.
deb: build man
	rm -rf target/deb
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/target/deb
	install -D -m 0644 docs/copyright target/deb$(DOC_DIR)/copyright
	install -d target/deb/DEBIAN
	printf '%s\n' "$(HA_RESOURCE_DIR)/IPaddr" > target/deb/DEBIAN/conffiles
	{ echo "Package: ocf-ipaddr"; \
	  echo "Version: $(VERSION)"; \
	  echo "Architecture: $(ARCH)"; \
	  echo "Maintainer: ocf-ipaddr developers <ocf-ipaddr@localhost>"; \
	  echo "Installed-Size: $$(du -sk target/deb --exclude=DEBIAN | cut -f1)"; \
	  echo "Depends: libc6"; \
	  echo "Recommends: pacemaker | heartbeat"; \
	  echo "Suggests: nftables | iptables"; \
	  echo "Section: admin"; \
	  echo "Priority: optional"; \
	  echo "Description: floating IP resource agent for Pacemaker (ocf:rust:IPaddr)"; \
	  echo " A drop-in replacement for ocf:heartbeat:IPaddr2 written in Rust: same"; \
	  echo " parameters and exit codes, netlink instead of ip, built-in duplicate"; \
	  echo " address probing and gratuitous ARP / unsolicited NA, no child processes."; \
	} > target/deb/DEBIAN/control
	dpkg-deb --root-owner-group -Zxz --build target/deb $(DEB)

# An RPM from ocf-ipaddr.spec, when rpmbuild is available. Outside an RPM
# distribution the build dependencies are not in rpm's database: --nodeps.
RPMBUILD_FLAGS ?= $(shell rpm -q --quiet rpm 2>/dev/null || echo --nodeps)
rpm:
	@command -v rpmbuild >/dev/null || { echo "rpmbuild not found (apt-get install rpm / dnf install rpm-build)" >&2; exit 1; }
	mkdir -p target/rpm/SOURCES
	git archive --format=tar.gz --prefix=ocf-ipaddr-$(VERSION)/ -o target/rpm/SOURCES/ocf-ipaddr-$(VERSION).tar.gz HEAD
	rpmbuild -bb $(RPMBUILD_FLAGS) --define "_topdir $(CURDIR)/target/rpm" --define "version $(VERSION)" ocf-ipaddr.spec

check: deps debian13-root lint test

# The crash-point enumeration alone (docs/reliability.md).
crash-points:
	rm -rf target/$(HOST)/tmp/crash-points
	$(STATIC) nextest run $(TEST_FLAGS) --test crash_points --no-capture
	tests/tools/crash-points-total.sh target/$(HOST)/tmp/crash-points

# Side by side with IPaddr2 and with the previous release; writes
# docs/benchmarks.md and docs/benchmarks.svg.
bench: deps $(PREVIOUS)
	$(STATIC) build --release --locked --target $(HOST) --example null-agent
	OCF_IPADDR_PREVIOUS=$(CURDIR)/$(PREVIOUS) $(STATIC) bench --locked --target $(HOST) --bench bench

demo: build
	tests/tools/install-deps.sh
	tests/tools/demo.sh $(BIN)

clean:
	$(CARGO) clean
