#!/usr/bin/python3
"""make_seeds.py - seed corpora for the libFuzzer harnesses.

Usage: make_seeds.py OUT_DIR BIN_DIR ARCHIVE_DIR...

From every .pt2 under the ARCHIVE_DIRs (the shared fixtures, the real torch
archives in tests/data/torch2, examples/) it takes: the archive itself
(archive, frontend), its model JSON (schema), its payload configs
(weights_config), and every pickle inside it and inside its nested
torch.save zips (pickle). Blobs (blob) are compiled from a few of them with
BIN_DIR/atalla-gen. Names are content hashes, so reruns add nothing new.
"""
import hashlib
import io
import os
import subprocess
import sys
import zipfile


def put(out, kind, data):
    d = os.path.join(out, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def pickles(out, data, depth=0):
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return
    for info in z.infolist():
        body = z.read(info)
        name = info.filename
        if name.endswith(".pkl"):
            put(out, "pickle", body)
        elif name.endswith(".pt") and depth == 0:
            pickles(out, body, depth + 1)
        elif name.endswith("model.json") or name.endswith("serialized_exported_program.json"):
            put(out, "schema", body)
        elif name.endswith("_config.json"):
            put(out, "weights_config", body)


def main(argv):
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    out, bindir, dirs = argv[1], argv[2], argv[3:]
    archives = []
    for d in dirs:
        for root, _, files in os.walk(d):
            archives += [os.path.join(root, f) for f in sorted(files) if f.endswith(".pt2")]
    for a in sorted(archives):
        data = open(a, "rb").read()
        put(out, "archive", data)
        put(out, "frontend", data)
        pickles(out, data)
    gen = os.path.join(bindir, "atalla-gen")
    blobs = 0
    for a in sorted(archives):
        if blobs >= 12 or os.path.getsize(a) > 1 << 20:
            continue
        tmp = os.path.join(out, "tmp.atb")
        if subprocess.run([gen, "--quiet", a, "-o", tmp], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0:
            put(out, "blob", open(tmp, "rb").read())
            os.remove(tmp)
            blobs += 1
    for kind in sorted(os.listdir(out)):
        print("seeds: %-15s %d" % (kind, len(os.listdir(os.path.join(out, kind)))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
