"""Member import from CSV (connectors.csv_members): parsing cells into member dictionaries, refusing unreadable
files with a message that says where."""

from __future__ import annotations

import csv

import pytest

from connectors.csv_members import COLUMNS, CSVFormatError, read_members_csv

HEADER = ",".join(COLUMNS)


def csv_bytes(*lines: str, header: str = HEADER, bom: bool = False) -> bytes:
    text = "\r\n".join([header, *lines]) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def only(rows):
    assert len(rows) == 1, rows
    return rows[0]


FULL_ROW = ('m1,sme,"Olive Press, Ltd",Beirut,small,nace-rev2:10.41;isic-rev4:1104,'
            '"Contract bottling of olive oil [nace-rev2:10.41] | Tasting tours",'
            '"Glass bottles [nace-rev2:23.13 isic-rev4:2310] | Export credit",fr; de ;,active,2024-05-01,'
            '4.1;ford:2.9,https://ror.org/05F0YAQ80,LB-1234,https://olive-press.example,federation,'
            'info@olive-press.example,+961 7 123 456,Rima Haddad,federation')


def test_a_full_row():
    line, member = only(read_members_csv(csv_bytes(FULL_ROW)))
    assert line == 2
    assert member == {
        "id": "m1", "kind": "sme", "name": "Olive Press, Ltd", "city": "Beirut", "size": "small",
        "activities": [{"scheme": "nace-rev2", "code": "10.41"}, {"scheme": "isic-rev4", "code": "1104"}],
        "offers": [{"text": "Contract bottling of olive oil", "codes": [{"scheme": "nace-rev2", "code": "10.41"}]},
                   {"text": "Tasting tours"}],
        "needs": [{"text": "Glass bottles", "codes": [{"scheme": "nace-rev2", "code": "23.13"},
                                                       {"scheme": "isic-rev4", "code": "2310"}]},
                  {"text": "Export credit"}],
        "export_markets": ["FR", "DE"],
        "status": "active", "last_active": "2024-05-01", "research_domains": ["4.1", "2.9"],
        "identifiers": {"ror": "05f0yaq80", "national_id": "LB-1234"}, "website": "https://olive-press.example",
        "visibility": "federation",
        "contact": {"email": "info@olive-press.example", "phone": "+961 7 123 456", "person": "Rima Haddad"},
        "contact_visibility": {"email": "federation", "phone": "federation", "person": "federation"},
    }


def test_every_column_is_read():
    assert COLUMNS == ("id", "kind", "name", "city", "size", "activities", "offers", "needs", "export_markets",
                       "status", "last_active", "research_domains", "ror", "national_id", "website", "visibility",
                       "email", "phone", "contact_person", "contact_visibility")
    assert len(next(csv.reader([FULL_ROW]))) == len(COLUMNS)  # FULL_ROW fills every one of them


CONTACT_HEADER = "kind,name,email,phone,contact_person,contact_visibility"


@pytest.mark.parametrize("cells, contact, visibility", [
    ("a@acme.example,+33 1 23,Ana,public", {"email": "a@acme.example", "phone": "+33 1 23", "person": "Ana"},
     "public"),
    ("a@acme.example,,,federation", {"email": "a@acme.example"}, "federation"),
    (",+33 1 23,,private", {"phone": "+33 1 23"}, "private"),
    (",, Ana ,", {"person": "Ana"}, "private"),                  # no visibility: contact fields stay private
    ("a@acme.example,,,  ", {"email": "a@acme.example"}, "private"),
])
def test_contact_columns(cells, contact, visibility):
    """The contact cells the row fills, each with the row's contact visibility (private when left empty)."""
    _, member = only(read_members_csv(csv_bytes(f"sme,Acme,{cells}", header=CONTACT_HEADER)))
    assert member == {"kind": "sme", "name": "Acme", "contact": contact,
                      "contact_visibility": {field: visibility for field in contact}}


def test_a_contact_visibility_without_contact_cells_adds_nothing():
    _, member = only(read_members_csv(csv_bytes("sme,Acme,,,,public", header=CONTACT_HEADER)))
    assert member == {"kind": "sme", "name": "Acme"}


@pytest.mark.parametrize("cell, expected", [
    ("nace-rev2:10.41;isic-rev4:1104", [("nace-rev2", "10.41"), ("isic-rev4", "1104")]),
    (" nace-rev2:10.41 ; isic-rev4:1104 ", [("nace-rev2", "10.41"), ("isic-rev4", "1104")]),
    ("nace-rev2:10.41 isic-rev4:1104", [("nace-rev2", "10.41"), ("isic-rev4", "1104")]),
    ("nace-rev2:10.41;;", [("nace-rev2", "10.41")]),
    ("isic-rev4:0111", [("isic-rev4", "0111")]),               # leading zero kept
    ("10.41", [("", "10.41")]),                                 # kept, so that validation names it
])
def test_activities_cell(cell, expected):
    _, member = only(read_members_csv(csv_bytes(f'sme,Acme,"{cell}"', header="kind,name,activities")))
    assert member["activities"] == [{"scheme": s, "code": c} for s, c in expected]


@pytest.mark.parametrize("cell, expected", [
    ("Olive oil [nace-rev2:10.41]", [{"text": "Olive oil", "codes": [{"scheme": "nace-rev2", "code": "10.41"}]}]),
    ("Olive oil", [{"text": "Olive oil"}]),
    ("Oil | Soap", [{"text": "Oil"}, {"text": "Soap"}]),
    ("Oil|Soap", [{"text": "Oil"}, {"text": "Soap"}]),
    ("Oil |  | Soap | ", [{"text": "Oil"}, {"text": "Soap"}]),
    ("Oil [nace-rev2:10.41; isic-rev4:1040] | Soap [nace-rev2:20.41]",
     [{"text": "Oil", "codes": [{"scheme": "nace-rev2", "code": "10.41"}, {"scheme": "isic-rev4", "code": "1040"}]},
      {"text": "Soap", "codes": [{"scheme": "nace-rev2", "code": "20.41"}]}]),
    ("Oil []", [{"text": "Oil"}]),                              # empty brackets: no codes
    ("Olive oil, extra virgin [nace-rev2:10.41]",
     [{"text": "Olive oil, extra virgin", "codes": [{"scheme": "nace-rev2", "code": "10.41"}]}]),
])
def test_offers_and_needs_cells(cell, expected):
    _, member = only(read_members_csv(csv_bytes(f'sme,Acme,"{cell}","{cell}"', header="kind,name,offers,needs")))
    assert member["offers"] == expected
    assert member["needs"] == expected


@pytest.mark.parametrize("cell, expected", [
    ("FR;DE", ["FR", "DE"]),
    ("fr; de ;", ["FR", "DE"]),
    ("AE", ["AE"]),
])
def test_export_markets_cell(cell, expected):
    _, member = only(read_members_csv(csv_bytes(f"sme,Acme,{cell}", header="kind,name,export_markets")))
    assert member["export_markets"] == expected


@pytest.mark.parametrize("cell, expected", [
    ("4.1;2.9", ["4.1", "2.9"]),
    (" ford:4.1 2.9 ;", ["4.1", "2.9"]),
    ("FORD:2.10", ["2.10"]),                                   # the scheme's case does not matter, the code is kept
    ("9.9", ["9.9"]),                                           # kept, so that validation names it
])
def test_research_domains_cell(cell, expected):
    _, member = only(read_members_csv(csv_bytes(f'university,Uni,"{cell}"', header="kind,name,research_domains")))
    assert member["research_domains"] == expected


@pytest.mark.parametrize("cells, identifiers", [
    ("05f0yaq80,", {"ror": "05f0yaq80"}),
    ("https://ror.org/05f0yaq80,", {"ror": "05f0yaq80"}),
    ("ror.org/05F0YAQ80,", {"ror": "05f0yaq80"}),
    (",MA-001", {"national_id": "MA-001"}),
    ("05f0yaq80, 42 ", {"ror": "05f0yaq80", "national_id": "42"}),
])
def test_identifier_columns(cells, identifiers):
    _, member = only(read_members_csv(csv_bytes(f"university,Uni,{cells}", header="kind,name,ror,national_id")))
    assert member == {"kind": "university", "name": "Uni", "identifiers": identifiers}


@pytest.mark.parametrize("data, message", [
    ("kind,name,ror\nuniversity,Uni,05f0yaq8\n", "line 2: not a ROR id: a ROR id is 0, six letters or digits and "
                                                  "two digits, e.g. 05f0yaq80"),
    ("kind,name,research_domains\nuniversity,Uni,nace-rev2:72.19\n",
     "line 2: research domains are FORD codes, written 72.19 or ford:72.19, not nace-rev2 codes"),
])
def test_unreadable_research_domains_and_ror_ids_are_refused(data, message):
    with pytest.raises(CSVFormatError) as info:
        read_members_csv(data)
    assert str(info.value) == message


def test_empty_cells_are_left_out_so_defaults_apply():
    _, member = only(read_members_csv(csv_bytes(",startup,Minimal,,,  ,,,,,,,, ,,,,,,")))
    assert member == {"kind": "startup", "name": "Minimal"}


def test_short_rows_are_filled_with_nothing():
    _, member = only(read_members_csv(csv_bytes("m9,sme,Short")))
    assert member == {"id": "m9", "kind": "sme", "name": "Short"}


def test_blank_rows_are_skipped_and_line_numbers_are_physical():
    rows = read_members_csv(csv_bytes("sme,A", "", ",", "sme,B", header="kind,name"))
    assert rows == [(2, {"kind": "sme", "name": "A"}), (5, {"kind": "sme", "name": "B"})]


def test_columns_may_come_in_any_order_and_values_are_stripped():
    _, member = only(read_members_csv(csv_bytes("  Acme  , sme ", header="name,kind")))
    assert member == {"name": "Acme", "kind": "sme"}


def test_a_byte_order_mark_is_ignored():
    _, member = only(read_members_csv(csv_bytes("sme,Acme", header="kind,name", bom=True)))
    assert member == {"kind": "sme", "name": "Acme"}


def test_quoted_names_with_commas_quotes_and_newlines():
    data = csv_bytes('sme,"Saveurs du Liban, S.A.R.L."', 'sme,"The ""Best"" Oil"', 'sme,"Two\nLines"',
                     "sme,After", header="kind,name")
    rows = read_members_csv(data)
    assert [m["name"] for _, m in rows] == ["Saveurs du Liban, S.A.R.L.", 'The "Best" Oil', "Two\nLines", "After"]
    # a record spanning two lines: the next record's number is still its physical line
    assert rows[-1][0] == 6


def test_text_input_and_unix_newlines():
    rows = read_members_csv("kind,name\nsme,Acme\nstartup,Beta\n")
    assert rows == [(2, {"kind": "sme", "name": "Acme"}), (3, {"kind": "startup", "name": "Beta"})]


def test_non_ascii_text_is_kept():
    _, member = only(read_members_csv(csv_bytes("sme,معصرة الزيتون,Tyr", "", header="kind,name,city")))
    assert member["name"] == "معصرة الزيتون"


# -- unreadable files ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data, message", [
    (b"\xff\xfek\x00i\x00n\x00d\x00", "missing column(s): name"),          # UTF-16 is read now
    (b"", "empty"),
    ("", "empty"),
    (b"\xef\xbb\xbf", "empty"),                                            # a BOM and nothing else
    (b"\r\n\r\n", "empty"),
    (b"id,name\nm1,Acme\n", "missing column(s): kind"),
    (b"id,kind\nm1,sme\n", "missing column(s): name"),
    (b"id,city\n", "missing column(s): kind, name"),
    (b"kind,name,colour\nsme,Acme,blue\n", "unknown column(s): colour"),
    (b"kind,name,Name\n", "repeated column(s): name"),                  # header case does not matter
    (b"kind,name,Activties\n", "unknown column(s): Activties (did you mean activities?)"),
])
def test_unreadable_files_are_refused(data, message):
    with pytest.raises(CSVFormatError) as info:
        read_members_csv(data)
    assert message in str(info.value)


def test_the_missing_column_message_lists_the_expected_columns():
    with pytest.raises(CSVFormatError) as info:
        read_members_csv(b"id,name\n")
    assert "expected " + ", ".join(COLUMNS) in str(info.value)


def test_the_encoding_error_says_where():
    """UTF-8 text with a byte that is not UTF-8 is two encodings mixed: refused naming the byte (read as
    Windows-1252, its UTF-8 accents would all turn into mojibake)."""
    with pytest.raises(CSVFormatError, match=r"mixes UTF-8 with another encoding .*at byte 24"):
        read_members_csv(b"kind,name\nsme,Caf\xc3\xa9\nsme,\xff\n")


def test_windows_1252_and_spaces_around_header_names_are_read():
    """Files the first version refused: Latin-1/Windows-1252 text, and `kind, name` (a space after the comma)."""
    assert read_members_csv(b"kind,name\nsme,Caf\xe9 \x80uro\n") == [(2, {"kind": "sme", "name": "Caf\u00e9 \u20acuro"})]
    assert read_members_csv(b"kind, name\nsme,Acme\n") == [(2, {"kind": "sme", "name": "Acme"})]


@pytest.mark.parametrize("lines, line_number", [
    (["sme,A,extra"], 2),
    (["sme,A", "sme,B", "sme,C,extra,more"], 4),
    (["sme,A", "", "sme,C,x"], 4),
    (['sme,"Two\nLines"', "sme,C,x"], 4),
])
def test_a_row_with_too_many_cells_is_refused_with_its_line_number(lines, line_number):
    with pytest.raises(CSVFormatError) as info:
        read_members_csv(csv_bytes(*lines, header="kind,name"))
    assert str(info.value) == f"line {line_number}: more cells than columns"


def test_csv_format_error_is_a_value_error():
    assert issubclass(CSVFormatError, ValueError)


@pytest.mark.parametrize("header, repeated", [
    ("id,kind,name,name", "name"),
    ("kind,name,id,city,id,city", "id, city"),
])
def test_a_repeated_column_is_refused_naming_it(header, repeated):
    with pytest.raises(CSVFormatError) as caught:
        read_members_csv(f"{header}\nx1,sme,First,Second,,\n")
    assert str(caught.value) == f"repeated column(s): {repeated}; each column may appear once"
