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

DEMO_OUT = out/demo

# The main job on the shipped samples (until trained models ship: the frontends and the text tools).
demo: release
	@mkdir -p $(DEMO_OUT)
	$(RELEASE_BIN) --version
	@echo
	$(RELEASE_BIN) features audio samples/speech/*.wav --out-dir $(DEMO_OUT)
	$(RELEASE_BIN) features audio samples/speech/en-1.wav --out $(DEMO_OUT)/en-1.npy --png $(DEMO_OUT)/en-1-logmel.png
	$(RELEASE_BIN) features image samples/images/*.png --out-dir $(DEMO_OUT)
	$(RELEASE_BIN) features image samples/images/red-circle-left-of-blue-square.png --out $(DEMO_OUT)/scene.npy --png $(DEMO_OUT)/scene-grid.png
	$(RELEASE_BIN) vocab build --kind char --size 100 --min-freq 1 samples/text/en.txt --out $(DEMO_OUT)/en-char.vocab
	$(RELEASE_BIN) tokenize --vocab $(DEMO_OUT)/en-char.vocab --pieces samples/text/en.txt
	$(RELEASE_BIN) tokenize --vocab $(DEMO_OUT)/en-char.vocab --ids samples/text/en.txt | $(RELEASE_BIN) detokenize --vocab $(DEMO_OUT)/en-char.vocab
	@echo
	@echo "features (.npy) and pictures (.png) are in $(DEMO_OUT)/"

bench: release
	$(RELEASE_BIN) bench kernels
	$(RELEASE_BIN) bench rnn
	$(RELEASE_BIN) bench frontend

install: release
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/recur/models $(DESTDIR)$(PREFIX)/share/recur/vocab
	install -m 755 $(RELEASE_BIN) $(DESTDIR)$(PREFIX)/bin/recur
	cp -R models/. $(DESTDIR)$(PREFIX)/share/recur/models/
	cp -R vocab/. $(DESTDIR)$(PREFIX)/share/recur/vocab/

clean:
	rm -rf .build out
