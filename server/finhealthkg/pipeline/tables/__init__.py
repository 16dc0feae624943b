"""Tables for people who do not speak RDF: one CSV per main class of the graph, its JSON twin
and its CSVW metadata (W3C "Metadata Vocabulary for Tabular Data": column titles, datatypes,
and how each column maps back to the graph: aboutUrl, propertyUrl, valueUrl).

Each table is a SPARQL query kept beside this module (`<name>.rq`), run at build time on the
release's store; its variables are the columns, in order. Lists are joined in one cell with
the column's separator (a space between IRIs, " | " between names) and sorted, so the same
graph writes the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from rdflib.namespace import DCTERMS, FOAF, RDF, SKOS

from ...namespaces import ADMS, FHKG, ORG, SCHEMA
from ...stores import Store

CSV_TYPE = "text/csv"
JSON_TYPE = "application/json"
CSVW_TYPE = "application/csvm+json"  # the media type CSVW registers for its metadata files
LICENCE = "https://creativecommons.org/licenses/by/4.0/"
IRIS, NAMES = " ", " | "


@dataclass(frozen=True)
class Column:
    name: str
    title: str
    datatype: str = "string"  # a CSVW built-in datatype
    property: str | None = None  # propertyUrl
    link: bool = False  # the cell holds IRIs: valueUrl "{+name}"
    lang: str | None = None
    separator: str | None = None  # a list in one cell
    about: str | None = None  # another column whose IRI this cell describes (a city's name)

    def csvw(self) -> dict[str, Any]:
        description: dict[str, Any] = {"name": self.name, "titles": self.title, "datatype": self.datatype}
        if self.name == "id":
            description["suppressOutput"] = True  # the subject of the row (tableSchema aboutUrl)
        if self.property:
            description["propertyUrl"] = self.property
        if self.link:
            description["valueUrl"] = f"{{+{self.name}}}"
        if self.lang:
            description["lang"] = self.lang
        if self.separator:
            description["separator"] = self.separator
        if self.about:
            description["aboutUrl"] = f"{{+{self.about}}}"
        return description


@dataclass(frozen=True)
class Table:
    name: str  # <name>.rq, <name>.csv, <name>.json, <name>.csv-metadata.json
    title: str
    description: str
    columns: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def query(self) -> str:
        return files(__package__).joinpath(f"{self.name}.rq").read_text(encoding="utf-8")


def _names(*extra: Column) -> tuple[Column, ...]:
    return (Column("id", "IRI", "anyURI"),
            Column("name_en", "Name (English)", property=str(SKOS.prefLabel), lang="en"),
            Column("name_fi", "Name (Finnish)", property=str(SKOS.prefLabel), lang="fi"),
            Column("name_sv", "Name (Swedish)", property=str(SKOS.prefLabel), lang="sv"),
            *extra)


def _iris(name: str, title: str, prop: str) -> Column:
    return Column(name, title, "anyURI", property=prop, link=True, separator=IRIS)


def _label_of(name: str, title: str, of: str) -> Column:
    return Column(name, title, property=str(SKOS.prefLabel), lang="en", separator=NAMES, about=of)


HOMEPAGE = Column("homepage", "Homepage", "anyURI", property=str(FOAF.homepage), link=True)
FOUNDED = Column("founded", "Founded (year or date)", property=str(SCHEMA.foundingDate))
ALTERNATIVE = Column("alternative_names", "Other names and acronyms", property=str(SKOS.altLabel),
                     separator=NAMES)

TABLES = (
    Table("organizations", "Organisations",
          "Every organisation in the graph: names in English, Finnish and Swedish, other names and "
          "acronyms, classes, kind, homepage, parent, members and city.",
          _names(ALTERNATIVE,
                 _iris("types", "Classes", str(RDF.type)),
                 _iris("kind", "Kind of organisation", str(ORG.classification)),
                 HOMEPAGE,
                 # org:unitOf and fhkg:partOfNetwork, both kinds of org:subOrganizationOf
                 _iris("parent", "Part of (parent organisation or network)", str(ORG.subOrganizationOf)),
                 _label_of("parent_name", "Parent's name (English)", "parent"),
                 _iris("members", "Members", str(ORG.hasMember)),
                 Column("member_count", "Number of members", "integer"),
                 _iris("city", "City", str(SCHEMA.location)),
                 _label_of("city_name", "City's name (English)", "city"),
                 FOUNDED)),
    Table("biobanks", "Biobanks",
          "The biobanks: names, city, owners, host, the cooperative they are members of, "
          "registration and founding dates, homepage.",
          _names(_iris("city", "City", str(SCHEMA.location)),
                 _label_of("city_name", "City's name (English)", "city"),
                 _iris("owners", "Owners", str(FHKG.ownedBy)),
                 _iris("host", "Hosted by", str(FHKG.hostedBy)),
                 _iris("member_of", "Member of", str(ORG.memberOf)),
                 Column("registered", "Registered in the national biobank register", "date",
                        property=str(FHKG.registrationDate)),
                 FOUNDED, HOMEPAGE)),
    Table("national-centres", "National centres of excellence",
          "The national centres of excellence and the biobank cooperative: names, status, field, "
          "host, founding date, homepage and members.",
          _names(ALTERNATIVE,
                 _iris("status", "Status", str(ADMS.status)),
                 _iris("field", "Field", str(DCTERMS.subject)),
                 _iris("host", "Hosted by", str(FHKG.hostedBy)),
                 FOUNDED, HOMEPAGE,
                 _iris("members", "Members", str(ORG.hasMember)))),
    Table("regional-centres", "Regional cancer centres",
          "The five regional cancer centres of the FICAN network: names, network, host hospital, "
          "city, founding date and homepage.",
          _names(_iris("network", "Part of network", str(FHKG.partOfNetwork)),
                 _iris("host", "Hosted by", str(FHKG.hostedBy)),
                 _label_of("host_name", "Host's name (English)", "host"),
                 _iris("city", "City", str(SCHEMA.location)),
                 FOUNDED, HOMEPAGE)),
)


def write_tables(store: Store, directory: Path, *, version: str) -> dict[str, str]:
    """Write every table as CSV, JSON and CSVW metadata into `directory`; {file name: media type}."""
    written: dict[str, str] = {}
    for table in TABLES:
        rows = table_rows(store, table)
        _write(directory / f"{table.name}.csv", _csv(table, rows))
        _write(directory / f"{table.name}.json", _json(table, rows, version))
        _write(directory / f"{table.name}.csv-metadata.json", _metadata(table, version))
        written.update({f"{table.name}.csv": CSV_TYPE, f"{table.name}.json": JSON_TYPE,
                        f"{table.name}.csv-metadata.json": CSVW_TYPE})
    return written


def _write(path: Path, data: bytes) -> None:
    with path.open("wb") as file:  # on disk before the release is published
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def table_rows(store: Store, table: Table) -> list[list[str]]:
    """The table's rows as CSV cells: lists sorted, absent values empty."""
    answer = store.query(table.query)
    variables = [v.value for v in answer.variables]
    if variables != [c.name for c in table.columns]:
        raise ValueError(f"{table.name}.rq selects {variables}, its columns are {[c.name for c in table.columns]}")
    rows = []
    for solution in answer:
        row = []
        for column, term in zip(table.columns, solution, strict=True):  # by position: faster than by name
            cell = "" if term is None else term.value
            if column.separator and cell:
                cell = column.separator.join(sorted(set(cell.split(column.separator))))
            row.append(cell)
        rows.append(row)
    return rows


def _csv(table: Table, rows: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180, as CSVW expects
    writer.writerow([c.name for c in table.columns])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def json_value(column: Column, cell: str) -> Any:
    """A CSV cell as JSON: null when empty, a list for list columns, a number for integers."""
    if cell == "":
        return [] if column.separator else None
    if column.separator:
        return cell.split(column.separator)
    return int(cell) if column.datatype == "integer" else cell


def _json(table: Table, rows: list[list[str]], version: str) -> bytes:
    document = {"table": table.name, "title": table.title, "release": version, "license": LICENCE,
                "metadata": f"{table.name}.csv-metadata.json", "columns": [c.name for c in table.columns],
                "rows": [{c.name: json_value(c, cell) for c, cell in zip(table.columns, row, strict=True)}
                         for row in rows]}
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"


def _metadata(table: Table, version: str) -> bytes:
    metadata = {
        "@context": ["http://www.w3.org/ns/csvw", {"@language": "en"}],
        "url": f"{table.name}.csv",
        "dc:title": table.title,
        "dc:description": table.description,
        "dc:license": {"@id": LICENCE},
        "schema:version": version,
        "dialect": {"header": True, "encoding": "utf-8"},
        "tableSchema": {"columns": [c.csvw() for c in table.columns], "primaryKey": "id", "aboutUrl": "{+id}"},
    }
    return json.dumps(metadata, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"
