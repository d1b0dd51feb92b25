#!/usr/bin/env python3
"""Regenerates assets/imdb-sample.tar.gz: a small balanced sample of IMDb in
the original aclImdb layout, so that whittle's default run works out of the box.

    python3 scripts/make_imdb_sample.py [../shared/data/aclImdb_v1.tar.gz]

Reviews are taken at a fixed stride through each sorted folder, so the sample
is the same every time.
"""
import io
import sys
import tarfile
from pathlib import Path

COUNTS = {"train/pos": 1000, "train/neg": 1000, "test/pos": 500, "test/neg": 500, "train/unsup": 1000}


def main():
    root = Path(__file__).resolve().parent.parent
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else root.parent / "shared/data/aclImdb_v1.tar.gz"
    target = root / "assets/imdb-sample.tar.gz"
    folders = {name: [] for name in COUNTS}
    with tarfile.open(source, "r:gz") as archive:
        for member in archive:
            parts = member.name.split("/")
            if member.isfile() and len(parts) == 4 and parts[0] == "aclImdb" and parts[3].endswith(".txt"):
                key = f"{parts[1]}/{parts[2]}"
                if key in folders:
                    folders[key].append((member.name, archive.extractfile(member).read()))
    with tarfile.open(target, "w:gz", format=tarfile.USTAR_FORMAT) as sample:
        for key, wanted in COUNTS.items():
            files = sorted(folders[key])
            stride = len(files) // wanted
            for name, data in files[::stride][:wanted]:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mtime = 0
                sample.addfile(info, io.BytesIO(data))
    print(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
