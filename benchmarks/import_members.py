"""Member import benchmark: a realistic member list of N rows imported by a node, timed, with its peak memory.

    python -m benchmarks.import_members --rows 50000 --json result.json [--format csv|xlsx] [--database URL]

Not part of the test suite. The file is generated first (in a temporary folder, not timed): French and Arabic
names, cities, one to three activity codes in NACE or ISIC, offers and needs with codes, export markets, dates
written dd/mm/yyyy, contact columns, a tenth of the rows without an id (their id comes from name and city), in
Windows-1252 semicolon CSV (the way Excel on a French Windows saves it) or as an .xlsx workbook. The node then
imports it from the file as the CLI does (streamed, one transaction, the profile published once), and the JSON
gives ``rows``, ``seconds`` (the import, publication included), ``cpu_seconds`` (the same in CPU time, which a
loaded machine changes least), ``rows_per_s`` and ``peak_rss_mb`` (the process's peak resident memory, read after
the import: the generated file and the node included).
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from federation.node.app import Node

HEADER = ["id", "type", "nom", "ville", "taille", "activités", "offres", "besoins", "marchés export", "statut",
          "dernière activité", "visibilité", "courriel", "téléphone", "personne de contact", "visibilité du contact"]
CODES = ["nace-rev2:10.41", "nace-rev2:10.71", "nace-rev2:11.02", "nace-rev2:10.82", "nace-rev2:01.26",
         "isic-rev4:1071", "isic-rev4:1040", "isic-rev4:0126", "nace-rev2:13.20", "nace-rev2:20.42",
         "nace-rev2:46.31", "isic-rev4:2100", "nace-rev2:26.11", "nace-rev2:38.21"]
KINDS = ["sme"] * 12 + ["startup"] * 3 + ["large_company", "university", "support_organisation", "investor"]
CITIES = ["Beyrouth", "Tripoli", "Saïda", "Zahlé", "Casablanca", "Fès", "Sfax", "Sousse", "Marseille", "Valencia"]
WORDS = ["huilerie", "olive", "vins", "dattes", "herbes", "couscous", "argan", "textile", "fibres", "emballage",
         "logistique", "recyclage", "compost", "biogaz", "export", "qualité", "bio", "savons", "céramique", "épices"]


def make_rows(n: int, seed: int = 7):
    rng = random.Random(seed)
    for i in range(n):
        words = " ".join(rng.sample(WORDS, 3)).title()
        codes = ";".join(rng.sample(CODES, rng.choice((1, 1, 2, 3))))
        has_id = rng.random() > 0.1
        yield [f"m{i:06d}" if has_id else "", rng.choice(KINDS), f"{words} {i}", rng.choice(CITIES),
               rng.choice(["micro", "small", "medium", "large", ""]), codes,
               f"{words} en gros [{rng.choice(CODES)}] | Visites et dégustations",
               "Partenaires export | Bouteilles en verre [nace-rev2:23.13]",
               ";".join(rng.sample(["FR", "DE", "LB", "MA", "IT", "ES", "AE"], 2)),
               "active" if rng.random() < 0.9 else "dormant",
               f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/20{rng.randint(18, 24)}",
               rng.choice(["public", "federation", "private"]), f"contact{i}@example.org", "+961 1 234 567",
               "Rima Haddad", "federation"]


def write_file(path: Path, n: int, kind: str) -> Path:
    if kind == "xlsx":
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("membres")
        sheet.append(HEADER)
        for row in make_rows(n):
            sheet.append(row)
        workbook.save(path)
        return path
    with path.open("w", encoding="cp1252", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(HEADER)
        writer.writerows(make_rows(n))
    return path


def run(rows: int, kind: str, database: str | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="medmci-import-bench-") as folder:
        workdir = Path(folder)
        path = write_file(workdir / f"members.{kind}", rows, kind)
        file_bytes = path.stat().st_size
        overrides = {"database_url": database} if database else {}
        node = Node.build(workdir / "node", overrides)
        try:
            node.service.put_cluster({"id": "bench", "names": {"en": "Bench cluster"}, "country": "LB",
                                      "website": None, "value_chains": ["agri-food"], "description": {}})
            start, cpu_start = time.perf_counter(), time.process_time()
            with path.open("rb") as stream:
                report = node.service.import_members(stream)
            seconds = time.perf_counter() - start
            # CPU seconds of this process: what a loaded, shared machine changes least.
            cpu_seconds = time.process_time() - cpu_start
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
            profile_bytes = len(node.service.publication("federation").body)
        finally:
            node.close()
    return {"rows": report["rows"], "seconds": round(seconds, 2), "cpu_seconds": round(cpu_seconds, 2),
            "rows_per_s": round(report["rows"] / seconds),
            "peak_rss_mb": round(peak, 1), "format": kind, "file_bytes": file_bytes, "detected": report["file"],
            "profile_bytes": profile_bytes,
            "python": platform.python_version(), "machine": platform.machine()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50000)
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    parser.add_argument("--database", help="SQLAlchemy URL (default: SQLite in a temporary folder)")
    parser.add_argument("--json", type=Path, help="write the result here too")
    args = parser.parse_args(argv)
    result = run(args.rows, args.format, args.database)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
