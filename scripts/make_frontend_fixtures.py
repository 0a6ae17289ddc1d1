#!/usr/bin/env python3
"""Reference fixtures for Recur's audio frontend (Tests/RecurFrontendsTests/Fixtures/audio_*).

Run with the venv that has librosa, torch, torchaudio, numpy and soundfile:

    /work/venv-torch/bin/python scripts/make_frontend_fixtures.py

Versions used for the committed files are in audio_fixtures.json (librosa 0.11.0,
torch 2.15.0, torchaudio 2.11.0, numpy 2.4.6). torchaudio 2.11 was installed with
`pip install --no-deps torchaudio==2.11.0` next to torch 2.15 (the newest torchaudio the
index had); its CUDA-version check is skipped below, and only its pure-Python
transforms and compliance.kaldi are used, on the CPU. espeak-ng must be on PATH.

What it writes (all small):
  audio_sig_<name>.wav         the input signals, float32 WAV (read back here, so both
                               sides see the very same samples): sine (440 Hz), chirp
                               (100 Hz -> 7 kHz in 0.4 s), noise (white, std 0.1), speech
                               (espeak-ng "hello world, seven", 0.4 s, resampled to 16 kHz
                               with soxr_hq); sine22k and speech22k at 22050 Hz for the
                               librosa preset. Sines, chirp and speech get faint noise (std
                               3e-3, about 60 dB under the peak bins): with a cleaner signal
                               the quietest bins sit at float32 FFT round-off (in torch as in
                               FFTW) and the log of round-off is not a parity test.
  audio_ref_<preset>_<sig>_<stage>.npy   float32 (T, D) references, time first:
      power   |STFT|^2 (T, n_fft/2+1)
      mel     mel energies (T, n_mels)
      logmel  the preset's log of the mel energies (T, n_mels)
      mfcc    the preset's MFCCs (T, n_mfcc)
  audio_ref_recur_<sig>_features.npy  Recur's default features (log-mel + per-utterance CMVN)
  audio_ref_recur_<sig>_deltas.npy    [mfcc13, delta, delta-delta] via torchaudio compute_deltas
  audio_stereo_pcm16.wav, audio_stereo_pcm24.flac   tiny multi-channel files written by soundfile
  audio_fixtures.json          the list above with shapes and the reference versions

Presets and their references:
  librosa     librosa.feature.melspectrogram(y, sr=22050) defaults; logmel = power_to_db
              (ref 1, amin 1e-10, top_db 80); mfcc = librosa.feature.mfcc (n_mfcc 20)
  torchaudio  torchaudio.transforms.MelSpectrogram() defaults; logmel = AmplitudeToDB("power",
              top_db=80); mfcc = torchaudio.transforms.MFCC() (n_mfcc 40)
  kaldi       torchaudio.compliance.kaldi.fbank defaults (dither 0); power = exp of kaldi
              spectrogram bins 1..256; mel = fbank(use_log_fbank=False); mfcc = DCT-II
              orthonormal of fbank, first 13 (not Kaldi's mfcc, which adds liftering)
  recur       torch.stft(400, hop 160, periodic hann, center reflect) power, torchaudio HTK
              mel bank 80 x 0..8 kHz, log(max(x, 1e-6)); features = that + per-utterance
              CMVN (population std); mfcc = DCT-II ortho 13 of the log-mel + CMVN
"""
import json
import os
import subprocess
import tempfile

import numpy as np
import soundfile as sf
import torch

torch.version.cuda = None  # torchaudio's CUDA-version check; everything here runs on the CPU
import librosa  # noqa: E402
import scipy.fft  # noqa: E402
import torchaudio  # noqa: E402
import torchaudio.compliance.kaldi as kaldi  # noqa: E402
import torchaudio.functional as AF  # noqa: E402
import torchaudio.transforms as AT  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "RecurFrontendsTests", "Fixtures")
rng = np.random.default_rng(1234)
manifest = {"versions": {"librosa": librosa.__version__, "torch": torch.__version__,
                         "torchaudio": torchaudio.__version__, "numpy": np.__version__},
            "signals": {}, "references": {}}


def save_wav(name, x, sr):
    path = os.path.join(OUT, f"audio_sig_{name}.wav")
    sf.write(path, x.astype(np.float32), sr, subtype="FLOAT")
    y, _ = sf.read(path, dtype="float32")  # exactly what Swift will read
    manifest["signals"][name] = {"file": os.path.basename(path), "sample_rate": sr, "samples": len(y)}
    return y


# Which (preset, signal) pairs keep which stages (the rest are computed but not
# stored, to keep the fixtures small).
KEEP = {
    ("recur", "sine"): {"logmel"}, ("recur", "noise"): {"logmel", "features"},
    ("recur", "chirp"): {"power", "mel", "logmel", "features"},
    ("recur", "speech"): {"logmel", "features", "mfcc", "deltas"},
    ("torchaudio", "chirp"): {"mel", "logmel", "mfcc"}, ("torchaudio", "speech"): {"power", "logmel", "mfcc"},
    ("kaldi", "sine"): {"power", "mel", "logmel"}, ("kaldi", "speech"): {"logmel", "mfcc"},
    ("librosa", "sine22k"): {"power", "mel", "logmel"}, ("librosa", "speech22k"): {"logmel", "mfcc"},
}


def save(preset, sig, stage, a):
    if stage not in KEEP.get((preset, sig), set()):
        return
    a = np.ascontiguousarray(np.asarray(a, dtype=np.float32))
    name = f"audio_ref_{preset}_{sig}_{stage}.npy"
    np.save(os.path.join(OUT, name), a)
    manifest["references"][name] = list(a.shape)


def signals():
    out = {}
    sr = 16000
    t = np.arange(int(0.25 * sr)) / sr
    out["sine"] = (save_wav("sine", 0.3 * np.sin(2 * np.pi * 440 * t) + 3e-3 * rng.standard_normal(len(t)), sr), sr)
    t = np.arange(int(0.4 * sr)) / sr
    chirp = 0.3 * np.sin(2 * np.pi * (100 * t + (7000 - 100) / (2 * 0.4) * t * t))
    out["chirp"] = (save_wav("chirp", chirp + 3e-3 * rng.standard_normal(len(t)), sr), sr)
    out["noise"] = (save_wav("noise", 0.1 * rng.standard_normal(int(0.25 * sr)), sr), sr)
    with tempfile.TemporaryDirectory() as d:
        w = os.path.join(d, "speech.wav")
        subprocess.run(["espeak-ng", "-w", w, "hello world, seven"], check=True)
        sp, spr = sf.read(w, dtype="float64")
    sp = sp[int(0.05 * spr):int(0.45 * spr)]  # 0.4 s with voice in it
    sp16 = librosa.resample(sp, orig_sr=spr, target_sr=16000, res_type="soxr_hq")
    out["speech"] = (save_wav("speech", sp16 + 3e-3 * rng.standard_normal(len(sp16)), 16000), 16000)
    t = np.arange(int(0.25 * 22050)) / 22050
    out["sine22k"] = (save_wav("sine22k", 0.3 * np.sin(2 * np.pi * 1000 * t) + 3e-3 * rng.standard_normal(len(t)), 22050), 22050)
    out["speech22k"] = (save_wav("speech22k", sp + 3e-3 * rng.standard_normal(len(sp)), 22050), 22050)
    return out


def ref_librosa(sig, y, sr):
    S = np.abs(librosa.stft(y)) ** 2  # (bins, T): n_fft 2048, hop 512, hann, center, constant pad
    mel = librosa.feature.melspectrogram(y=y, sr=sr)
    logmel = librosa.power_to_db(mel)
    mfcc = librosa.feature.mfcc(y=y, sr=sr)
    save("librosa", sig, "power", S.T)
    save("librosa", sig, "mel", mel.T)
    save("librosa", sig, "logmel", logmel.T)
    save("librosa", sig, "mfcc", mfcc.T)


def ref_torchaudio(sig, y, sr):
    x = torch.from_numpy(y)
    spec = AT.Spectrogram(n_fft=400, power=2.0)(x)  # MelSpectrogram's own first stage
    mel = AT.MelSpectrogram(sample_rate=16000)(x)
    logmel = AT.AmplitudeToDB("power", top_db=80)(mel)
    mfcc = AT.MFCC(sample_rate=16000)(x)
    save("torchaudio", sig, "power", spec.T.numpy())
    save("torchaudio", sig, "mel", mel.T.numpy())
    save("torchaudio", sig, "logmel", logmel.T.numpy())
    save("torchaudio", sig, "mfcc", mfcc.T.numpy())


def ref_kaldi(sig, y, sr):
    x = torch.from_numpy(y)[None]
    logspec = kaldi.spectrogram(x, sample_frequency=16000)  # (T, 257), column 0 is the log energy
    power = torch.exp(logspec)
    power[:, 0] = float("nan")  # not a power bin: the tests skip it
    mel = kaldi.fbank(x, sample_frequency=16000, use_log_fbank=False)
    fb = kaldi.fbank(x, sample_frequency=16000)
    mfcc = scipy.fft.dct(fb.numpy().astype(np.float64), type=2, norm="ortho", axis=1)[:, :13]
    save("kaldi", sig, "power", power.numpy())
    save("kaldi", sig, "mel", mel.numpy())
    save("kaldi", sig, "logmel", fb.numpy())
    save("kaldi", sig, "mfcc", mfcc)


def cmvn(a):
    a = a.astype(np.float64)
    return (a - a.mean(0)) / np.maximum(a.std(0), 1e-5)


def ref_recur(sig, y, sr):
    x = torch.from_numpy(y)
    z = torch.stft(x, n_fft=400, hop_length=160, window=torch.hann_window(400), center=True,
                   pad_mode="reflect", return_complex=True)
    p = (z.abs() ** 2).T  # (T, 201)
    fb = AF.melscale_fbanks(201, 0.0, 8000.0, 80, 16000, norm=None, mel_scale="htk")  # (201, 80)
    mel = p @ fb
    logmel = torch.log(torch.clamp(mel, min=1e-6)).numpy()
    mf = logmel.astype(np.float64) @ AF.create_dct(13, 80, "ortho").numpy().astype(np.float64)  # (T, 13)
    save("recur", sig, "power", p.numpy())
    save("recur", sig, "mel", mel.numpy())
    save("recur", sig, "logmel", logmel)
    save("recur", sig, "features", cmvn(logmel))
    save("recur", sig, "mfcc", cmvn(mf))
    c = torch.from_numpy(cmvn(mf).T.astype(np.float32))  # (13, T)
    d1 = AF.compute_deltas(c, win_length=5)
    d2 = AF.compute_deltas(d1, win_length=5)
    save("recur", sig, "deltas", torch.cat([c, d1, d2], 0).T.numpy())


def main():
    os.makedirs(OUT, exist_ok=True)
    sig = signals()
    for name in ["sine", "chirp", "noise", "speech"]:
        y, sr = sig[name]
        ref_recur(name, y, sr)
        ref_torchaudio(name, y, sr)
        ref_kaldi(name, y, sr)
    for name in ["sine22k", "speech22k"]:
        y, sr = sig[name]
        ref_librosa(name, y, sr)
    # Multi-channel files from another writer (soundfile) for the reader tests.
    t = np.arange(800) / 16000
    st = np.stack([0.5 * np.sin(2 * np.pi * 500 * t), -0.25 * np.sin(2 * np.pi * 500 * t)], 1)
    sf.write(os.path.join(OUT, "audio_stereo_pcm16.wav"), st, 16000, subtype="PCM_16")
    sf.write(os.path.join(OUT, "audio_stereo_pcm24.flac"), st, 16000, subtype="PCM_24")
    with open(os.path.join(OUT, "audio_fixtures.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT) if n.startswith("audio_"))
    print(f"wrote {len(manifest['references'])} references, {len(manifest['signals'])} signals; audio_* total {total / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
