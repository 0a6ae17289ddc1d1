# Recur: make demo runs the main job on the shipped samples; make test runs the tests.
PREFIX ?= /usr/local
SWIFT ?= swift
APT_PACKAGES = libsndfile1-dev libfftw3-dev libpng-dev libopenblas-dev libdnnl-dev libsoxr-dev pkg-config espeak-ng sox
SUDO = $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RELEASE_BIN = .build/release/recur

.PHONY: deps build release test demo expected vocab bench install clean

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
RUN = $(RELEASE_BIN) run --show

# The main job on the shipped samples: each shipped pipeline whose models are
# in models/ (input → each stage's text), then the frontends and text tools.
demo: release
	@mkdir -p $(DEMO_OUT)
	$(RELEASE_BIN) --version
	@echo
	@have() { for m in "$$@"; do [ -f models/$$m.safetensors ] || { echo "(models/$$m.safetensors is not shipped yet: skipping)"; return 1; }; done; }; \
	set -e; \
	if have speech-en translate-en-fr; then echo "== speech → English → French"; $(RUN) speech-to-french samples/speech/digits-*.wav; echo; \
	elif have speech-en; then echo "== speech → English"; $(RUN) speech-to-text samples/speech/digits-*.wav; echo; fi; \
	if have speech-en-sentences lm-en translate-en-fr; then echo "== spoken sentences → English → French"; $(RUN) sentences-to-french samples/speech/en-*.wav; echo; fi; \
	if have caption-shapes translate-en-fr; then echo "== image → caption → French"; $(RUN) caption-to-french samples/images/*.png; echo; \
	elif have caption-shapes; then echo "== image → caption"; $(RUN) caption samples/images/*.png; echo; fi; \
	if have translate-en-fr translate-fr-en; then echo "== English → French → English"; $(RUN) round-trip samples/text/en.txt; echo; \
	elif have translate-en-fr; then echo "== English → French"; $(RUN) translate-en-fr samples/text/en.txt; echo; fi; \
	if have lm-en; then echo "== the character language model"; $(RELEASE_BIN) generate --prime "I want" --temperature 0.8 --count 3 --seed 1; echo; fi; \
	if have caption-shapes; then $(RELEASE_BIN) caption samples/images/scene-1.png --attention-png $(DEMO_OUT)/attention > /dev/null; fi
	$(RELEASE_BIN) features audio samples/speech/en-1.wav --out $(DEMO_OUT)/en-1.npy --png $(DEMO_OUT)/en-1-logmel.png
	$(RELEASE_BIN) features image samples/images/scene-3.png --out $(DEMO_OUT)/scene.npy --png $(DEMO_OUT)/scene-grid.png
	@echo
	@echo "pictures (spectrogram, image grid, attention) are in $(DEMO_OUT)/"

# Regenerates samples/expected/ from the shipped models (what the end-to-end tests compare with).
expected: release
	@mkdir -p samples/expected
	@for p in pipelines/*.yaml; do n=$$(basename $$p .yaml); \
	  case $$n in speech-*) in="samples/speech/digits-*.wav";; sentences-*) in="samples/speech/en-*.wav";; caption*) in="samples/images/*.png";; translate-fr-en) in=samples/text/fr.txt;; *) in=samples/text/en.txt;; esac; \
	  if $(RELEASE_BIN) run $$p --check > /dev/null 2>&1; then $(RELEASE_BIN) run $$p --jsonl $$in > samples/expected/$$n.jsonl && echo "samples/expected/$$n.jsonl"; \
	  else echo "$$n: models missing, skipped"; fi; done

# Writes each shipped model's vocabularies into vocab/ (a test checks they match the models).
vocab: release
	$(RELEASE_BIN) vocab extract models/*.safetensors --out-dir vocab

bench: release
	$(RELEASE_BIN) bench kernels
	$(RELEASE_BIN) bench rnn
	$(RELEASE_BIN) bench frontend

install: release
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/recur/models $(DESTDIR)$(PREFIX)/share/recur/vocab $(DESTDIR)$(PREFIX)/share/recur/pipelines
	install -m 755 $(RELEASE_BIN) $(DESTDIR)$(PREFIX)/bin/recur
	cp -R models/. $(DESTDIR)$(PREFIX)/share/recur/models/
	cp -R vocab/. $(DESTDIR)$(PREFIX)/share/recur/vocab/
	cp -R pipelines/. $(DESTDIR)$(PREFIX)/share/recur/pipelines/

clean:
	rm -rf .build out
