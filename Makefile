# Recur: make demo runs the main job on the shipped samples; make test runs the tests.
PREFIX ?= /usr/local
SWIFT ?= swift
APT_PACKAGES = libsndfile1-dev libfftw3-dev libpng-dev libopenblas-dev libsoxr-dev pkg-config espeak-ng sox
SUDO = $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RELEASE_BIN = .build/release/recur

.PHONY: deps build release test demo bench install clean

# Installs the Debian packages the build and the tests need; does nothing when they are there.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps
	$(SWIFT) test --disable-swift-testing

demo: release
	$(RELEASE_BIN) --version
	@echo
	$(RELEASE_BIN) bench kernels --runs 3 --elements 1000000

bench: release
	$(RELEASE_BIN) bench kernels

install: release
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/recur/models $(DESTDIR)$(PREFIX)/share/recur/vocab
	install -m 755 $(RELEASE_BIN) $(DESTDIR)$(PREFIX)/bin/recur
	cp -R models/. $(DESTDIR)$(PREFIX)/share/recur/models/
	cp -R vocab/. $(DESTDIR)$(PREFIX)/share/recur/vocab/

clean:
	rm -rf .build
