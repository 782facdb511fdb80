"""Member import as clusters really keep their lists (issue #10, part 2): formats and encodings detected, French
and Arabic headers, every error of every row with suggestions, dates, stable ids, dry runs, bounds. Files are
generated here, in the shapes spreadsheets write them."""

from __future__ import annotations

import codecs
import csv
import io
import json
import zipfile
from datetime import date, datetime

import pytest
import requests
from click.testing import CliRunner
from openpyxl import Workbook

from connectors.member_import import ImportOptions, open_member_file
from connectors.member_import.codes import CodeSuggester
from connectors.member_import.headers import ALIASES, COLUMNS
from connectors.member_import.ids import identity_key, stable_id
from federation.cli import main
from federation.errors import ValidationError
from federation.profile.fastdump import dumper
from federation.profile.member_fields import MemberSchema
from tests.support.builders import cluster_doc

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
HEADER = ["id", "kind", "name", "city", "activities", "last_active"]
ROWS = [["c1", "sme", "Société Générale d'Huile", "Saïda", "nace-rev2:10.41", "2024-05-01"],
        ["c2", "startup", "Crème & Café", "Zahlé", "isic-rev4:1071", ""]]


def text(rows, delimiter=",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def xlsx(rows, formula_cells=()) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for cell, formula in formula_cells:
        sheet[cell] = formula
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.fixture
def node(make_node):
    app = make_node("qoot")
    app.extensions["medmci"].service.put_cluster(cluster_doc())
    return app


@pytest.fixture
def service(node):
    return node.extensions["medmci"].service


def members(service) -> dict:
    """The stored members by id, dates written ISO."""
    return {m["id"]: {**m, "last_active": m["last_active"] and m["last_active"].isoformat()}
            for m in service.list_members()}


def refusal(service, data, **kwargs) -> ValidationError:
    sequence = service.publication().sequence
    before = service.list_members()
    with pytest.raises(ValidationError) as caught:
        service.import_members(data, **kwargs)
    assert service.list_members() == before and service.publication().sequence == sequence  # nothing changed
    return caught.value


# -- formats, encodings, delimiters --------------------------------------------------------------------------------

FILES = {
    "utf-8": (text([HEADER, *ROWS]).encode("utf-8"), "UTF-8", "comma"),
    "utf-8-bom": (codecs.BOM_UTF8 + text([HEADER, *ROWS]).encode("utf-8"), "UTF-8 with BOM", "comma"),
    # Excel's "Unicode text": UTF-16 LE with a BOM, tab-delimited.
    "utf-16-le-excel": (codecs.BOM_UTF16_LE + text([HEADER, *ROWS], "\t").encode("utf-16-le"), "UTF-16 LE", "tab"),
    "utf-16-le-no-bom": (text([HEADER, *ROWS], "\t").encode("utf-16-le"), "UTF-16 LE (no BOM)", "tab"),
    # Excel's "CSV" on a French Windows: Windows-1252 and semicolons.
    "cp1252-semicolon": (text([HEADER, *ROWS], ";").encode("cp1252"), "Windows-1252", "semicolon"),
    "utf-8-semicolon": (text([HEADER, *ROWS], ";").encode("utf-8"), "UTF-8", "semicolon"),
    "utf-8-tab": (text([HEADER, *ROWS], "\t").encode("utf-8"), "UTF-8", "tab"),
}


@pytest.mark.parametrize("name", FILES)
def test_each_encoding_and_delimiter_is_detected_and_read(service, name):
    data, encoding, delimiter = FILES[name]
    report = service.import_members(data)
    assert report["file"] == {"format": "csv", "encoding": encoding, "delimiter": delimiter}
    assert (report["rows"], report["created"]) == (2, 2)
    stored = members(service)
    assert stored["c1"]["name"] == "Société Générale d'Huile" and stored["c1"]["city"] == "Saïda"
    assert stored["c1"]["last_active"] == "2024-05-01"
    assert stored["c2"]["activities"] == [{"scheme": "isic-rev4", "code": "1071"}]


def test_iso_8859_1_bytes_windows_1252_leaves_undefined():
    stream = open_member_file(b"kind,name\nsme,Caf\xe9 \x81\n", ImportOptions())
    assert stream.detected.describe()["encoding"] == "ISO-8859-1"
    assert [cells for _line, cells in stream] == [["sme", "Caf\u00e9 \x81"]]


def test_an_xlsx_workbook_is_read_with_formulas_as_values_only(service):
    rows = [HEADER, *ROWS, ["c3", "sme", "Dated", "Tyr", "nace-rev2:10.71", datetime(2023, 2, 1)],
            ["c4", "sme", "Numbered", "Sour", "", None]]
    # A formula Excel never calculated has no saved value: read as empty, never as its text nor evaluated.
    data = xlsx(rows, formula_cells=[("D5", '=HYPERLINK("http://evil.example","x")'), ("A6", None)])
    report = service.import_members(data)
    assert report["file"] == {"format": "xlsx", "encoding": None, "delimiter": None}
    stored = members(service)
    assert stored["c3"]["last_active"] == "2023-02-01"  # a date cell
    assert stored["c4"]["city"] is None
    assert "HYPERLINK" not in json.dumps(service.list_members(), default=str)


def test_xlsx_numbers_are_read_as_the_text_excel_shows(service):
    data = xlsx([["id", "kind", "name", "activities"], [1001, "sme", "Numeric Id", "nace-rev2:10.71"]])
    service.import_members(data)
    assert "1001" in members(service)


@pytest.mark.parametrize("data, expected", [
    pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), ["Excel 97-2003 workbook (.xls)",
                                                                     "Excel Workbook (.xlsx)", "CSV UTF-8"], id="xls"),
    pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(200), ["a PNG image, not a member list", "CSV UTF-8"], id="png"),
    pytest.param(b"%PDF-1.7\n", ["a PDF document"], id="pdf"),
    pytest.param(b"kind,name\x00\x01\x02\x03binary", ["a binary file (a NUL byte at byte 9)"], id="binary"),
])
def test_files_that_are_not_member_lists_are_refused_saying_what_they_are(service, data, expected):
    error = refusal(service, data)
    for text_ in expected:
        assert text_ in error.errors["file"][0]


def test_a_zip_that_is_not_a_workbook_is_refused_naming_it(service):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    assert "a Word document (.docx)" in refusal(service, out.getvalue()).errors["file"][0]


def test_a_workbook_over_the_uncompressed_size_setting_is_refused_before_it_is_opened(make_node):
    app = make_node("small", {"node": {"import": {"xlsx_max_uncompressed_bytes": 2000}}})
    service = app.extensions["medmci"].service
    service.put_cluster(cluster_doc())
    # Highly compressible: a few kB on the wire, far more once inflated.
    data = xlsx([HEADER, *ROWS, ["c9", "sme", "x" * 5000, "", "", ""]])
    error = refusal(service, data)
    assert "node.import.xlsx_max_uncompressed_bytes" in error.errors["file"][0]


# -- headers -----------------------------------------------------------------------------------------------------

def test_french_headers(service):
    data = text([["Identifiant", "Type", "Nom", "Ville", "Activités", "Dernière activité", "Visibilité",
                  "Courriel", "Visibilité du contact"],
                 ["f1", "sme", "Huilerie du Sud", "Sfax", "nace-rev2:10.41", "15/03/2024", "federation",
                  "info@huilerie.example", "public"]], ";")
    service.import_members(data.encode("cp1252"))
    member = members(service)["f1"]
    assert (member["name"], member["city"], member["last_active"]) == ("Huilerie du Sud", "Sfax", "2024-03-15")
    assert member["contact"] == {"email": "info@huilerie.example", "phone": None, "person": None}
    assert member["contact_visibility"] == {"email": "public"}


def test_arabic_headers(service):
    data = text([["المعرف", "النوع", "الاسم", "المدينة", "الأنشطة", "الهاتف"],
                 ["a1", "sme", "معصرة الزيتون", "صور", "nace-rev2:10.41", "+961 7 123 456"]])
    service.import_members(data.encode("utf-8"))
    member = members(service)["a1"]
    assert (member["name"], member["city"]) == ("معصرة الزيتون", "صور")
    assert member["contact"]["phone"] == "+961 7 123 456"


def test_header_case_spaces_and_trailing_empty_columns_do_not_matter(service):
    data = "  ID ,KIND,Name , Contact-Person,,,\r\nh1,SME,Acme,Ana,,,\r\n"
    service.import_members(data)
    assert members(service)["h1"]["contact"]["person"] == "Ana"
    assert members(service)["h1"]["kind"] == "sme"  # enumerations forgive case too


def test_unknown_columns_are_listed_with_the_closest_known_name(service):
    error = refusal(service, "kind,name,Activites codes,Citty,Colour\nsme,Acme,,,\n")
    message = error.errors["file"][0]
    assert "unknown column(s): Activites codes (did you mean activities?), Citty (did you mean city?), " \
           "Colour (no close match)" in message


def test_a_title_row_above_the_header_is_named_as_the_likely_cause(service):
    error = refusal(service, "Liste des membres 2024,,\nkind,name,city\nsme,Acme,Tyr\n")
    assert "the header must be the first row (remove any title rows above it)" in error.errors["file"][0]
    # a header with known columns and one misspelled is not a title row
    assert "title rows" not in refusal(service, "kind,name,Citty\nsme,Acme,Tyr\n").errors["file"][0]


def test_every_alias_is_documented():
    readme = (ROOT / "config" / "README.md").read_text(encoding="utf-8")
    missing = [f"{column}: {alias}" for column in COLUMNS for alias in ALIASES.get(column, ()) if alias not in readme]
    assert not missing


# -- every error, with suggestions -------------------------------------------------------------------------------

BAD = text([["id", "kind", "name", "city", "activities", "last_active", "export_markets"],
            ["b1", "sme", "Good", "Tyr", "nace-rev2:10.41", "", ""],
            ["b2", "alien", "Three Errors", "Tyr", "nace-rev2:10,71", "31/02/2024", "FR"],
            ["b3", "sme", "Bare Code", "Tyr", "1071", "", "ZZ"],
            ["b4", "sme", "Section Letter", "Tyr", "nace-rev2:C10.71;isic-rev4:99999", "2024-13-01", ""]])


def test_every_error_of_every_row_is_reported_naming_line_member_field_value(service):
    error = refusal(service, BAD)
    rows = {r["line"]: r for r in error.errors["rows"]}
    assert sorted(rows) == [3, 4, 5]
    b2 = rows[3]
    assert (b2["id"], b2["member"]) == ("b2", "Three Errors")
    by_field = {p["field"]: p for p in b2["problems"]}
    assert set(by_field) == {"kind", "activities", "last_active"}
    assert by_field["kind"]["value"] == "alien"
    assert by_field["activities"] == {"field": "activities", "value": "nace-rev2:10,71", "suggestion": "nace-rev2:10.71",
                                      "message": "member 'b2': unknown nace-rev2 code '10,71'"}
    assert by_field["last_active"]["value"] == "31/02/2024" and "day is out of range" in \
        by_field["last_active"]["message"]
    b3 = {p["field"]: p for p in rows[4]["problems"]}
    assert b3["activities"]["suggestion"] == "isic-rev4:1071 or nace-rev2:10.71"
    assert "has no scheme" in b3["activities"]["message"]
    assert b3["export_markets"]["value"] == "ZZ"
    b4 = rows[5]["problems"]
    assert [(p["field"], p["value"], p.get("suggestion")) for p in b4] == [
        ("last_active", "2024-13-01", None), ("activities", "nace-rev2:C10.71", "nace-rev2:10.71"),
        ("activities", "isic-rev4:99999", None)]
    assert "3 of 4 rows have errors; nothing was imported" in str(error)


@pytest.mark.parametrize("scheme, code, expected", [
    ("", "1071", "isic-rev4:1071 or nace-rev2:10.71"),
    ("nace-rev2", "1071", "nace-rev2:10.71"),
    ("nace-rev2", "10,71", "nace-rev2:10.71"),
    ("nace-rev2", "C10.71", "nace-rev2:10.71"),
    ("isic-rev4", "10.71", "isic-rev4:1071"),
    ("isic-rev4", "111", "isic-rev4:0111"),          # a spreadsheet took 0111 for a number
    ("nace-rev2", "1.11", "nace-rev2:01.11"),
    ("nace-rev2", "C1041", "nace-rev2:10.41"),
    ("nace-rev2", "99.99", None),
])
def test_code_suggestions(registry, scheme, code, expected):
    assert CodeSuggester(registry.taxonomies).suggest(scheme, code) == expected


def test_a_bare_code_takes_the_clusters_default_scheme(make_node):
    app = make_node("isic", {"node": {"import": {"default_scheme": "isic-rev4"}}})
    service = app.extensions["medmci"].service
    service.put_cluster(cluster_doc())
    service.import_members("id,kind,name,activities\nd1,sme,Bakery,1071\n")
    assert members(service)["d1"]["activities"] == [{"scheme": "isic-rev4", "code": "1071"}]
    # Not in the default scheme: refused, with the code meant.
    error = refusal(service, "id,kind,name,activities\nd2,sme,Dotted,10.71\n")
    assert error.errors["rows"][0]["problems"][0]["suggestion"] == "isic-rev4:1071"


# -- dates -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("order, cell, expected", [
    ("dmy", "01/05/2024", "2024-05-01"),
    ("dmy", "1.5.24", "2024-05-01"),
    ("dmy", "2024-05-01", "2024-05-01"),
    ("dmy", "2024-05-01 00:00:00", "2024-05-01"),
    ("mdy", "01/05/2024", "2024-01-05"),
    ("ymd", "2024/05/01", "2024-05-01"),
])
def test_dates_in_the_clusters_order(make_node, order, cell, expected):
    app = make_node(f"dates-{order}", {"node": {"import": {"date_order": order}}})
    service = app.extensions["medmci"].service
    service.put_cluster(cluster_doc())
    service.import_members(f"id,kind,name,last_active\nd1,sme,Dated,{cell}\n")
    assert members(service)["d1"]["last_active"] == expected


def test_a_date_that_is_no_date_names_the_accepted_formats(service):
    error = refusal(service, "id,kind,name,last_active\nd1,sme,Dated,next tuesday\n")
    assert "write 2024-12-31 or 31/12/2024" in error.errors["rows"][0]["problems"][0]["message"]


# -- stable ids, duplicates, nothing changes twice ---------------------------------------------------------------

def test_ids_come_from_the_normalised_name_and_city():
    assert identity_key("  Olive-Press, S.A.R.L. ") == identity_key("OLIVE PRESS SARL") == "olivepresssarl"
    assert identity_key("Ｏｌｉｖｅ") == "olive"                      # NFKC: full-width letters
    assert stable_id("Straße GmbH", "Köln") == stable_id("STRASSE gmbh", "köln")
    assert stable_id("Café", "Tyr") != stable_id("Cafe", "Tyr")       # accents tell names apart
    assert stable_id("Olive Press", "Tyr") != stable_id("Olive Press", "Sour")


def test_importing_the_same_file_twice_changes_nothing(service):
    data = text([["kind", "name", "city", "activities"], ["sme", "Olive Press", "Tyr", "nace-rev2:10.41"],
                 ["sme", "Soap Works", "Saïda", "nace-rev2:20.42"]])
    first = service.import_members(data)
    sequence, body = service.publication().sequence, service.publication().body
    assert first["created"] == 2 and first["published"]
    again = service.import_members(data)
    assert (again["created"], again["updated"], again["unchanged"], again["published"]) == (0, 0, 2, False)
    assert service.publication().sequence == sequence and service.publication().body == body
    # Written a little differently, the same member: updated (its name as now written), not created twice.
    variant = service.import_members(data.replace("Olive Press", "OLIVE-PRESS"))
    assert (variant["created"], variant["updated"], variant["unchanged"]) == (0, 1, 1)
    assert sorted(members(service)) == sorted([stable_id("Olive Press", "Tyr"), stable_id("Soap Works", "Saïda")])


def test_two_identical_id_less_rows_are_a_duplicate(service):
    data = text([["kind", "name", "city"], ["sme", "Olive Press", "Tyr"], ["sme", "Other", "Tyr"],
                 ["sme", "olive press", "TYR"]])
    error = refusal(service, data)
    [row] = error.errors["rows"]
    assert row["line"] == 4 and row["id"] == stable_id("Olive Press", "Tyr")
    assert "the same member as line 2 (same name and city, no id)" in row["errors"]["id"][0]


# -- dry run -----------------------------------------------------------------------------------------------------

def test_dry_run_over_http_reports_and_changes_nothing(node, serve):
    service = node.extensions["medmci"].service
    service.import_members("id,kind,name\nkeep,sme,Kept\ngone,sme,Gone\n")
    before = (service.list_members(), service.publication().sequence, service.publication("public").body)
    _record, token = node.extensions["medmci"].tokens.create("dry", "node_admin")
    url = serve(node).url
    response = requests.post(f"{url}/api/v1/members/import?dry_run=true&replace=true",
                             data="id,kind,name\nkeep,sme,Kept Renamed\nnew,sme,New\n".encode(),
                             headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json() == {"rows": 2, "created": 1, "updated": 1, "unchanged": 0, "removed": 1,
                               "dry_run": True, "published": False,
                               "file": {"format": "csv", "encoding": "UTF-8", "delimiter": "comma"},
                               "ids": {"created": ["new"], "updated": ["keep"], "removed": ["gone"]}}
    assert (service.list_members(), service.publication().sequence, service.publication("public").body) == before


def test_a_misspelled_import_parameter_is_refused_and_a_raw_body_is_read_whatever_its_label(node, serve):
    """``dryrun=true`` must not become a real import; curl's --data-binary labels a file x-www-form-urlencoded."""
    service = node.extensions["medmci"].service
    service.import_members("id,kind,name\nkeep,sme,Kept\n")
    before = (service.list_members(), service.publication().sequence)
    _record, token = node.extensions["medmci"].tokens.create("typo", "node_admin")
    url, auth = serve(node).url, {"Authorization": f"Bearer {token}"}
    body = "id,kind,name\nkeep,sme,Kept Renamed\n".encode()
    refused = requests.post(f"{url}/api/v1/members/import?dryrun=true", data=body,
                            headers={**auth, "Content-Type": "text/csv"}, timeout=10)
    assert refused.status_code == 422, refused.text
    assert "dryrun" in refused.text
    assert (service.list_members(), service.publication().sequence) == before
    labelled_as_form = requests.post(f"{url}/api/v1/members/import?dry_run=true", data=body,
                                     headers={**auth, "Content-Type": "application/x-www-form-urlencoded"},
                                     timeout=10)
    assert labelled_as_form.status_code == 200, labelled_as_form.text
    assert (labelled_as_form.json()["rows"], labelled_as_form.json()["updated"]) == (1, 1)
    no_file = requests.post(f"{url}/api/v1/members/import", files={"other": ("m.csv", body)}, headers=auth,
                            timeout=10)
    assert no_file.status_code == 422 and "file" in no_file.text
    assert (service.list_members(), service.publication().sequence) == before


def test_dry_run_on_the_command_line(tmp_path):
    instance = tmp_path / "node"
    runner = CliRunner()
    (tmp_path / "c.json").write_text(json.dumps(cluster_doc()), encoding="utf-8")
    assert runner.invoke(main, ["node", "--instance", str(instance), "set-cluster", str(tmp_path / "c.json")]
                         ).exit_code == 0
    first = tmp_path / "first.csv"
    first.write_text("id,kind,name\nkeep,sme,Kept\ngone,sme,Gone\n", encoding="utf-8")
    assert runner.invoke(main, ["node", "--instance", str(instance), "import-members", str(first)]).exit_code == 0
    second = tmp_path / "second.csv"
    second.write_bytes("id;kind;name\r\nkeep;sme;Kept Renamed\r\nnew;sme;Nouveau Café\r\n".encode("cp1252"))
    result = runner.invoke(main, ["node", "--instance", str(instance), "import-members", "--dry-run", "--replace",
                                  str(second)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "file: csv, Windows-1252, semicolon-delimited",
        "would import 2 members: 1 new, 1 updated, 0 unchanged, 1 removed",
        "  created: new", "  updated: keep", "  removed: gone", "dry run: nothing was changed"]
    listed = runner.invoke(main, ["node", "--instance", str(instance), "import-members", "--dry-run", str(first)])
    assert "would import 2 members: 0 new, 0 updated, 2 unchanged, 0 removed" in listed.output


def test_the_command_line_lists_every_error_with_its_suggestion(tmp_path):
    instance = tmp_path / "node"
    runner = CliRunner()
    (tmp_path / "c.json").write_text(json.dumps(cluster_doc()), encoding="utf-8")
    runner.invoke(main, ["node", "--instance", str(instance), "set-cluster", str(tmp_path / "c.json")])
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    result = runner.invoke(main, ["node", "--instance", str(instance), "import-members", str(bad)])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "3 row(s) have errors; nothing was imported" in result.output
    assert "line 3 (b2) 'Three Errors': activities 'nace-rev2:10,71': member 'b2': unknown nace-rev2 code " \
           "'10,71' (did you mean nace-rev2:10.71?)" in result.output
    assert "line 4 (b3) 'Bare Code': activities '1071'" in result.output
    assert "(did you mean isic-rev4:1071 or nace-rev2:10.71?)" in result.output


# -- bounds ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("setting, data, expected", [
    ("max_rows", "kind,name\n" + "sme,A\n" * 4, "more than 3 member rows (setting node.import.max_rows)"),
    ("max_columns", "kind,name," + ",".join(f"x{i}" for i in range(5)) + "\n", "setting node.import.max_columns"),
])
def test_bounds_refuse_the_file(make_node, setting, data, expected):
    app = make_node("bounded", {"node": {"import": {setting: 3}}})
    service = app.extensions["medmci"].service
    service.put_cluster(cluster_doc())
    assert expected in refusal(service, data).errors["file"][0]


def test_a_cell_over_the_size_setting_is_a_row_error(make_node):
    app = make_node("cells", {"node": {"import": {"max_cell_chars": 10}}})
    service = app.extensions["medmci"].service
    service.put_cluster(cluster_doc())
    error = refusal(service, "kind,name\nsme,A Name Longer Than Ten\n")
    assert "node.import.max_cell_chars" in error.errors["rows"][0]["problems"][0]["message"]


def test_the_import_bytes_setting_bounds_the_command_line_too(make_node):
    app = make_node("bytes", {"api": {"max_import_bytes": 100}})
    service = app.extensions["medmci"].service
    service.put_cluster(cluster_doc())
    assert "setting api.max_import_bytes" in refusal(service, "kind,name\n" + "sme,A\n" * 30).errors["file"][0]


# -- publication -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("member", [
    {"id": "x", "kind": "sme", "name": "N"},
    {"id": "x", "kind": "sme", "name": "N", "city": None, "size": "small", "last_active": date(2024, 1, 2),
     "activities": [{"scheme": "nace-rev2", "code": "10.41"}], "export_markets": ["FR"],
     "offers": [{"text": "Oil", "codes": [{"scheme": "isic-rev4", "code": "1040"}]}], "needs": [],
     "status": "active", "audience": "public", "contact": {"email": "a@b.example", "phone": None}},
    {"id": "x", "kind": "sme", "name": "N", "last_active": None, "contact": None, "offers": [{"text": "t"}]},
    {"id": "x", "kind": "tto", "name": "N", "research_domains": ["2.9", "4"], "identifiers": {"ror": "05f0yaq80"},
     "website": "https://x.example.org"},
    {"id": "x", "kind": "university", "name": "N", "research_domains": [], "identifiers": None, "website": None},
])
def test_the_fast_member_dump_is_marshmallows(member):
    assert dumper(MemberSchema())(member) == MemberSchema().dump(member)


def test_a_row_with_too_many_cells_is_told_as_the_rows_problem_on_the_command_line(tmp_path):
    instance = tmp_path / "node"
    runner = CliRunner()
    (tmp_path / "c.json").write_text(json.dumps(cluster_doc()), encoding="utf-8")
    assert runner.invoke(main, ["node", "--instance", str(instance), "set-cluster", str(tmp_path / "c.json")]
                         ).exit_code == 0
    data = tmp_path / "m.csv"
    data.write_text("id,kind,name\nm1,sme,Acme,public\n", encoding="utf-8")
    result = runner.invoke(main, ["node", "--instance", str(instance), "import-members", str(data)])
    assert result.exit_code == 1
    assert "line 2 (m1) 'Acme': the row 'public': more cells than columns (4 for 3)" in result.output
    assert "_row" not in result.output


# -- research domains, identifiers, website (profile 1.3) --------------------------------------------------------

KNOWLEDGE_HEADER = ["id", "kind", "name", "city", "activities", "research_domains", "ror", "national_id", "website"]
KNOWLEDGE_ROWS = [
    ["u1", "university", "Université du Sahel", "Sousse", "nace-rev2:85.42", "4.1;2.9", "https://ror.org/05F0YAQ80",
     "UNI-0042", "https://univ-sahel.example.org"],
    ["r1", "research_centre", "Food Lab", "Tunis", "nace-rev2:72.19", "ford:4.5 ford:2.11", "", "", ""],
    ["s1", "sme", "Olive Press", "Tyr", "nace-rev2:10.41", "", "", "", ""],
]


def test_research_domains_identifiers_and_website_reach_the_member_and_the_published_profile(service):
    report = service.import_members(text([KNOWLEDGE_HEADER, *KNOWLEDGE_ROWS]))
    assert (report["created"], report["published"]) == (3, True)
    stored = members(service)
    assert stored["u1"]["research_domains"] == ["4.1", "2.9"]
    assert stored["u1"]["identifiers"] == {"ror": "05f0yaq80", "national_id": "UNI-0042"}  # the URL's id, lower case
    assert stored["u1"]["website"] == "https://univ-sahel.example.org"
    assert (stored["r1"]["research_domains"], stored["r1"]["identifiers"], stored["r1"]["website"]) == \
        (["4.5", "2.11"], None, None)
    assert (stored["s1"]["research_domains"], stored["s1"]["identifiers"]) == ([], None)
    published = {m["id"]: m for m in json.loads(service.publication("public").body)["members"]}
    assert published["u1"]["research_domains"] == ["4.1", "2.9"]
    assert published["u1"]["identifiers"] == {"ror": "05f0yaq80", "national_id": "UNI-0042"}
    assert published["u1"]["website"] == "https://univ-sahel.example.org"
    assert published["r1"]["research_domains"] == ["4.5", "2.11"]
    # The same file again: nothing changes.
    again = service.import_members(text([KNOWLEDGE_HEADER, *KNOWLEDGE_ROWS]))
    assert (again["unchanged"], again["published"]) == (3, False)


def test_the_new_columns_answer_to_french_and_arabic_names(service):
    french = text([["Identifiant", "Type", "Nom", "Domaines de recherche", "Identifiant ROR", "Identifiant national",
                    "Site web"],
                   ["f1", "university", "Université de Tunis", "4.1", "05f0yaq80", "TN-123", "https://ut.example.org"]],
                  ";")
    service.import_members(french.encode("cp1252"))
    arabic = text([["المعرف", "النوع", "الاسم", "مجالات البحث", "معرف ROR", "الرقم الوطني", "الموقع الإلكتروني"],
                   ["a1", "research_centre", "مركز البحوث", "2.9;4.5", "05f0yaq80", "123", "https://mb.example.org"]])
    service.import_members(arabic.encode("utf-8"))
    stored = members(service)
    assert (stored["f1"]["research_domains"], stored["f1"]["identifiers"], stored["f1"]["website"]) == \
        (["4.1"], {"ror": "05f0yaq80", "national_id": "TN-123"}, "https://ut.example.org")
    assert (stored["a1"]["research_domains"], stored["a1"]["identifiers"]["national_id"]) == (["2.9", "4.5"], "123")


def test_the_new_columns_are_read_from_a_workbook(service):
    # Typed in Excel: a lone domain becomes a number, a national id too.
    data = xlsx([KNOWLEDGE_HEADER, ["x1", "university", "Workbook University", "Sfax", "nace-rev2:85.42", 4.1,
                                    "05f0yaq80", 4200, "https://wu.example.org"],
                 ["x2", "tto", "Workbook TTO", "Sfax", "", "4.1;2.9", None, None, None]])
    service.import_members(data)
    stored = members(service)
    assert (stored["x1"]["research_domains"], stored["x1"]["identifiers"]) == \
        (["4.1"], {"ror": "05f0yaq80", "national_id": "4200"})
    assert stored["x2"]["research_domains"] == ["4.1", "2.9"] and stored["x2"]["kind"] == "tto"


def test_bad_research_domains_identifiers_and_websites_are_row_errors_and_nothing_is_imported(service):
    service.import_members(text([KNOWLEDGE_HEADER, KNOWLEDGE_ROWS[0]]))
    bad = text([KNOWLEDGE_HEADER,
                ["g1", "university", "Good", "Tunis", "", "4.1", "", "", ""],
                ["b1", "university", "Unknown Domain", "Tunis", "", "4.1;9.9", "", "", ""],
                ["b2", "research_centre", "Comma Domain", "Tunis", "", "4,1", "", "", ""],
                ["b3", "university", "Activity As Domain", "Tunis", "", "nace-rev2:72.19", "", "", ""],
                ["b4", "tto", "Bad Ids", "Tunis", "", "", "not-a-ror", "", "www.bad-ids.example.org"],
                ["b5", "tto", "Bad Website", "Tunis", "", "", "", "x" * 65, "just words"]])
    error = refusal(service, bad)
    rows = {r["id"]: r["problems"] for r in error.errors["rows"]}
    assert sorted(rows) == ["b1", "b2", "b3", "b4", "b5"]
    assert rows["b1"] == [{"field": "research_domains", "value": "9.9",
                           "message": "member 'b1': unknown research domain '9.9' (not a FORD code)"}]
    assert rows["b2"] == [{"field": "research_domains", "value": "4,1", "suggestion": "ford:4.1",
                           "message": "member 'b2': unknown research domain '4,1' (not a FORD code)"}]
    [activity] = rows["b3"]
    assert (activity["field"], activity["value"]) == ("research_domains", "nace-rev2:72.19")
    assert "research domains are FORD codes" in activity["message"]
    by_field = {p["field"]: p for p in rows["b4"]}
    assert by_field["ror"]["value"] == "not-a-ror" and "not a ROR id" in by_field["ror"]["message"]
    assert by_field["website"] == {"field": "website", "value": "www.bad-ids.example.org",
                                   "message": "Not a valid URL.", "suggestion": "https://www.bad-ids.example.org"}
    by_field = {p["field"]: p for p in rows["b5"]}
    assert set(by_field) == {"national_id", "website"} and "suggestion" not in by_field["website"]
    assert "5 of 6 rows have errors; nothing was imported" in str(error)
    assert members(service)["u1"]["research_domains"] == ["4.1", "2.9"]  # the earlier import stands


@pytest.mark.parametrize("code, expected", [("4,1", "ford:4.1"), ("2-10", "ford:2.10"), ("4.1", "ford:4.1"),
                                            ("9.9", None), ("10.41", None)])
def test_research_domain_suggestions_are_ford_codes_only(registry, code, expected):
    assert CodeSuggester(registry.taxonomies).suggest("ford", code) == expected
