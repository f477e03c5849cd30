"""Reading an uploaded file into a header and rows of text: CSV (UTF-8 with or without a BOM,
or Latin-1; comma, semicolon or tab, sniffed), XLSX and JSON Lines.

Everything comes back as text, as a person typed it: what a cell means is the mapping's business
(`transfer.rows`). Formula cells are neutralised here, once, for every format.
"""

import csv
import io
import json
import zipfile

from opportunities.csv_export import FORMULA_TRIGGERS
from opportunities.errors import DomainError

# Above these an upload is refused before it is read: a file this large is a mistake or an
# attack, and each row costs memory during the preview.
MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000
MAX_COLUMNS = 200
MAX_CELL = 10_000


class FileRefused(DomainError):
    """The file cannot be read as a table: its message says why, for the person who sent it."""


def neutralise_cell(value: str) -> str:
    """A cell that a spreadsheet would run as a formula loses its trigger characters: an import
    keeps data, never instructions (=HYPERLINK(…) in a name would run in every later export).
    A signed number ("-5", "+44 20…") is data and stays as it is."""
    text = value.strip()
    if text.startswith(FORMULA_TRIGGERS) and not _looks_numeric(text):
        return text.lstrip("=+-@\t\r ").strip()
    return text


def _looks_numeric(text: str) -> bool:
    body = text[1:].replace(" ", "").replace(",", "").replace(".", "").replace("(", "").replace(")", "")
    return text[0] in "+-" and body.isdigit()


def decode(data: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), else Latin-1 (which every byte string is;
    Windows spreadsheets save "CSV" in it)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="strict") if _is_cp1252(data) else data.decode("latin-1")


def _is_cp1252(data: bytes) -> bool:
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True


def read_table(data: bytes, filename: str) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of the file; raises FileRefused with a clear message."""
    if not data:
        raise FileRefused("The file is empty.")
    if len(data) > MAX_BYTES:
        raise FileRefused(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it into smaller files.")
    name = (filename or "").lower()
    if name.endswith(".xlsx") or data[:2] == b"PK":
        header, rows = _read_xlsx(data)
    elif name.endswith((".jsonl", ".ndjson", ".json")):
        header, rows = _read_jsonl(data)
    else:
        header, rows = _read_csv(data)
    header = [neutralise_cell(h) for h in header]
    if not any(header):
        raise FileRefused("The first row must name the columns; it is empty.")
    if len(header) > MAX_COLUMNS:
        raise FileRefused(f"The file has {len(header)} columns; at most {MAX_COLUMNS} are read.")
    if len(set(h for h in header if h)) != len([h for h in header if h]):
        dupes = sorted({h for h in header if h and header.count(h) > 1})
        raise FileRefused(f"Column names must be unique; repeated: {', '.join(dupes)}.")
    if not rows:
        raise FileRefused("The file has column names but no rows.")
    width = len(header)
    cleaned = []
    for row in rows:
        cells = [neutralise_cell(c) for c in row[:width]] + [""] * max(0, width - len(row))
        if any(len(c) > MAX_CELL for c in cells):
            raise FileRefused(f"Row {len(cleaned) + 2} has a cell longer than {MAX_CELL} characters.")
        cleaned.append(cells)
    return header, cleaned


def _check_count(count: int) -> None:
    if count > MAX_ROWS:
        raise FileRefused(f"The file has more than {MAX_ROWS:,} rows; split it into smaller files.")


def _read_csv(data: bytes) -> tuple[list[str], list[list[str]]]:
    text = decode(data)
    if "\x00" in text:
        raise FileRefused("This is not a text file; upload CSV, XLSX or JSON Lines.")
    sample = text[:20_000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), dialect):
            if not any(cell.strip() for cell in row):
                continue
            rows.append(row)
            _check_count(len(rows) - 1)
    except csv.Error as exc:
        raise FileRefused(f"The CSV file cannot be read near row {len(rows) + 1}: {exc}.") from None
    if not rows:
        raise FileRefused("The file is empty.")
    return rows[0], rows[1:]


def _read_xlsx(data: bytes) -> tuple[list[str], list[list[str]]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise FileRefused("The file is not a readable XLSX workbook.") from None
    sheet = book.worksheets[0]
    rows = []
    for values in sheet.iter_rows(values_only=True):
        cells = ["" if v is None else _cell_text(v) for v in values]
        if not any(c.strip() for c in cells):
            continue
        rows.append(cells)
        _check_count(len(rows) - 1)
    book.close()
    if not rows:
        raise FileRefused("The workbook's first sheet is empty.")
    return rows[0], rows[1:]


def _cell_text(value) -> str:
    import datetime as dt

    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_jsonl(data: bytes) -> tuple[list[str], list[list[str]]]:
    text = decode(data)
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise FileRefused(f"Line {number} is not valid JSON.") from None
        if not isinstance(record, dict):
            raise FileRefused(f"Line {number} is not a JSON object.")
        records.append(record)
        _check_count(len(records))
    if not records:
        raise FileRefused("The file is empty.")
    header: list[str] = []
    for record in records:
        header.extend(k for k in record if k not in header)
    rows = [[_json_text(record.get(k)) for k in header] for record in records]
    return header, rows


def _json_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)
