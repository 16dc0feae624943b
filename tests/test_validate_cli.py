"""`finhealthkg validate` as a user runs it: exit status and a report that names the fix."""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph, Literal
from rdflib.namespace import RDF, SH

from conftest import cli


def break_file(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_valid_sources_exit_zero(project):
    done = cli("validate", "--root", str(project.root))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "conforms" in done.stdout and "0 violation" in done.stdout


def test_missing_finnish_label_names_focus_node_path_and_file(project):
    biobanks = project.root / "data" / "biobanks.ttl"
    break_file(biobanks, '"Auria Biopankki"@fi , "Auria Biopankki"@sv ;\n    skos:prefLabel',
               '"Auria Biopankki"@sv ;\n    skos:prefLabel')
    done = cli("validate", "--root", str(project.root))
    assert done.returncode == 1
    out = done.stdout
    assert "does NOT conform" in out
    assert "data/biobanks.ttl" in out
    assert "https://w3id.org/finhealthkg/id/organization/auria-biobank" in out
    assert "rdfs:label" in out
    assert "Finnish (@fi)" in out  # the shape's own message


def test_dangling_link_is_reported_where_it_is_written(project):
    break_file(project.root / "data" / "cancer-centres.ttl",
               "fhkg:hostedBy organization:turku-university-hospital",
               "fhkg:hostedBy organization:turku-univ-hospital")
    done = cli("validate", "--root", str(project.root))
    assert done.returncode == 1
    assert "organization/turku-univ-hospital" in done.stdout
    assert "data/cancer-centres.ttl" in done.stdout
    assert "rdf:type" in done.stdout


def test_wrong_value_reports_the_value(project):
    break_file(project.root / "data" / "national-centres.ttl",
               'schema:foundingDate "2019"^^xsd:gYear', 'schema:foundingDate "in 2019"')
    done = cli("validate", "--root", str(project.root))
    assert done.returncode == 1
    assert '"in 2019"' in done.stdout
    assert "schema:foundingDate" in done.stdout
    assert "national-cancer-centre" in done.stdout


def test_broken_shape_is_caught_by_shacl_shacl(project):
    break_file(project.root / "shapes" / "values.ttl",
               "sh:minCount 1 ; sh:maxCount 1 ; sh:datatype xsd:string ; sh:minLength 3",
               'sh:minCount "one" ; sh:maxCount 1 ; sh:datatype xsd:string ; sh:minLength 3')
    done = cli("validate", "--root", str(project.root))
    assert done.returncode == 1
    assert "shapes/values.ttl" in done.stdout
    assert "sh:minCount" in done.stdout


def test_turtle_format_is_the_shacl_report_graph(project):
    break_file(project.root / "data" / "biobanks.ttl",
               'fhkg:registrationDate "2014-03-10"^^xsd:date ;\n    fhkg:sampleCount',
               'fhkg:registrationDate "10.3.2014" ;\n    fhkg:sampleCount')
    done = cli("validate", "--root", str(project.root), "--format", "turtle")
    assert done.returncode == 1
    report = Graph().parse(data=done.stdout, format="turtle")
    node = next(report.subjects(RDF.type, SH.ValidationReport))
    assert report.value(node, SH.conforms) == Literal(False)
    values = {str(v) for v in report.objects(None, SH.value)}
    assert "10.3.2014" in values


def test_syntax_error_names_file_and_line(project):
    path = project.root / "data" / "places.ttl"
    path.write_text(path.read_text(encoding="utf-8") + "\nplace:nowhere a schema:City \n",
                    encoding="utf-8")
    done = cli("validate", "--root", str(project.root))
    assert done.returncode == 2
    assert "data/places.ttl" in done.stderr
    assert "not valid Turtle" in done.stderr
    assert "line" in done.stderr


def test_missing_directory_is_a_clear_error(tmp_path):
    done = cli("validate", "--root", str(tmp_path))
    assert done.returncode == 2
    assert "ontology directory is missing" in done.stderr


BREAKAGES = [
    ("biobanks.ttl", '"Auria Biopankki"@fi , "Auria Biopankki"@sv ;\n    skos:prefLabel',
     '"Auria Biopankki"@sv ;\n    skos:prefLabel'),
    ("cancer-centres.ttl", "fhkg:hostedBy organization:turku-university-hospital",
     "fhkg:hostedBy organization:turku-univ-hospital"),
    ("national-centres.ttl", 'schema:foundingDate "2019"^^xsd:gYear', 'schema:foundingDate "in 2019"'),
    ("biobanks.ttl", '"Auria Biopankki"@fi ,', '"Auria Biopankki"@fi , "Auria"@fi ,'),
]


def test_both_shacl_engines_report_the_same(project):
    """The compiled engine (the default) and pyshacl (the reference) print the same report,
    finding by finding and file by file, for data broken in several ways at once."""
    for name, old, new in BREAKAGES:
        break_file(project.root / "data" / name, old, new)
    reports = {engine: cli("validate", "--root", str(project.root), "--shacl-engine", engine)
               for engine in ("sparql", "pyshacl")}
    assert {done.returncode for done in reports.values()} == {1}
    assert reports["sparql"].stdout == reports["pyshacl"].stdout
    assert reports["sparql"].stdout.count("Violation:") >= len(BREAKAGES)


def test_conforming_shapes_are_remembered_and_a_changed_shape_is_checked_again(project, tmp_path):
    """pyshacl's SHACL-SHACL check of the shapes is remembered by the shapes' digest only when they
    conform: the same shapes are not checked twice, a broken one always is, and
    FINHEALTHKG_CACHE=0 keeps nothing."""
    cache = tmp_path / "cache"
    env = {"XDG_CACHE_HOME": str(cache)}
    kept = cache / "finhealthkg" / "conforming-shapes"
    first = cli("validate", "--root", str(project.root), "--format", "turtle", env=env)
    assert first.returncode == 0, first.stderr
    assert len(list(kept.iterdir())) == 1
    again = cli("validate", "--root", str(project.root), "--format", "turtle", env=env)
    assert again.returncode == 0
    assert Graph().parse(data=again.stdout).isomorphic(Graph().parse(data=first.stdout))
    break_file(project.root / "shapes" / "values.ttl",
               "sh:minCount 1 ; sh:maxCount 1 ; sh:datatype xsd:string ; sh:minLength 3",
               'sh:minCount "one" ; sh:maxCount 1 ; sh:datatype xsd:string ; sh:minLength 3')
    for _ in range(2):  # a broken shape is never remembered
        broken = cli("validate", "--root", str(project.root), env=env)
        assert broken.returncode == 1 and "sh:minCount" in broken.stdout
    assert len(list(kept.iterdir())) == 1
    off = tmp_path / "off"
    assert cli("validate", "--root", str(project.root), env={"XDG_CACHE_HOME": str(off),
                                                            "FINHEALTHKG_CACHE": "0"}).returncode == 1
    assert not off.exists()
