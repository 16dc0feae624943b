"""SHACL validation of the sources and a report a person can act on.

Two checks run: the shapes themselves against the SHACL-for-SHACL shapes that pyshacl
ships, then ontology + data against the shapes. Each finding names the focus node, the
path, the value, the message, the shape and the file(s) the focus node is written in.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph
import pyshacl
import pyshacl.errors
from pyoxigraph import NamedNode
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from ..config import SHACL_ENGINES
from ..namespaces import DATA_GRAPH, ONTOLOGY_GRAPH, PREFIXES
from ..terms import to_rdflib
from .shacl_report import results_graph
from .shacl_sparql import UnsupportedShapeError, compile_shapes
from .sources import SourceError, Sources

log = logging.getLogger(__name__)

SHACL_SHACL = Path(pyshacl.__file__).parent / "assets" / "shacl-shacl.ttl"
SEVERITY_ORDER = {"Violation": 0, "Warning": 1, "Info": 2}


@dataclass(frozen=True)
class Finding:
    """One SHACL result, with the file(s) to edit."""

    severity: str  # Violation, Warning or Info
    checked: str  # "data" (ontology + data against the shapes) or "shapes" (against SHACL-SHACL)
    focus: str
    path: str | None
    value: str | None
    message: str
    shape: str | None
    files: tuple[str, ...]


@dataclass
class ValidationReport:
    findings: list[Finding]
    graph: Graph  # the SHACL validation report graph (sh:ValidationReport)
    triples: int  # triples validated (ontology + data)
    file_count: int
    engine: str = "sparql"  # the SHACL engine that checked the data (see validate_sources)

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "Violation"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity != "Violation"]

    @property
    def conforms(self) -> bool:
        return not self.violations

    def summary(self) -> str:
        verdict = "conforms" if self.conforms else "does NOT conform"
        return (
            f"The graph {verdict}: {len(self.violations)} violation(s), "
            f"{len(self.warnings)} warning(s) in {self.triples} triples from {self.file_count} files."
        )

    def text(self) -> str:
        """The report as plain text, grouped by file, most severe first."""
        lines = [self.summary()]
        by_file: dict[str, list[Finding]] = {}
        for finding in self.findings:
            by_file.setdefault(", ".join(finding.files) or "(no file)", []).append(finding)
        for file_name in sorted(by_file):
            lines.append("")
            lines.append(file_name)
            for finding in by_file[file_name]:
                lines.append(f"  {finding.severity}: {finding.focus}")
                if finding.path:
                    lines.append(f"    path:    {finding.path}")
                if finding.value:
                    lines.append(f"    value:   {finding.value}")
                lines.append(f"    message: {finding.message}")
                if finding.shape:
                    lines.append(f"    shape:   {finding.shape}")
        return "\n".join(lines)


ENGINES = SHACL_ENGINES


def validate_sources(sources: Sources, engine: str = "sparql") -> ValidationReport:
    """Validate the shapes against SHACL-SHACL, then ontology + data against the shapes.

    engine "sparql" (the default) compiles the shapes to SPARQL and runs them on the sources'
    Oxigraph store (shacl_sparql.py): seconds for a million triples. "pyshacl" is the reference
    it is tested against (tests/test_shacl_sparql.py), and what runs when the shapes use a
    feature the compiler lacks."""
    if engine not in ENGINES:
        raise ValueError(f"unknown SHACL engine {engine!r}: one of {', '.join(ENGINES)}")
    shapes_report = _shapes_report(sources.shapes)
    findings = _findings(shapes_report, "shapes", sources)
    data_report = Graph()
    used = engine
    # Ill-formed shapes cannot check anything; report them alone rather than fail inside a validator.
    if not any(f.severity == "Violation" for f in findings):
        data_report, used = _validate_data(sources, engine)
        findings += _findings(data_report, "data", sources) + _written_twice(sources)
    findings.sort(key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.files, f.focus, f.message))
    return ValidationReport(
        findings=findings,
        graph=_merge_reports(data_report, shapes_report, conforms=not any(
            f.severity == "Violation" for f in findings)),
        triples=sources.triple_count(),
        file_count=len(sources.all_files()),
        engine=used,
    )


def _shapes_report(shapes: Graph) -> Graph:
    """pyshacl's report on the shapes against SHACL-SHACL. It takes over a second (most of a small
    build) and depends on the shapes alone, so a report without results is remembered in the
    user's cache under the shapes' digest: rebuilding with unchanged shapes does not ask again.
    A report with any result is never remembered (its blank nodes belong to this parse)."""
    marker = _conforming_shapes_marker(shapes)
    if marker is not None and marker.is_file():
        report = Graph()
        report.add((BNode(), RDF.type, SH.ValidationReport))
        return report
    report = _run(shapes, Graph().parse(SHACL_SHACL), advanced=False)
    if marker is not None and (None, SH.result, None) not in report:
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:  # a cache that cannot be written: the next build asks pyshacl again
            pass
    return report


def _conforming_shapes_marker(shapes: Graph) -> Path | None:
    """The file whose presence says these shapes conform: named by the SHA-256 of their canonical
    N-Quads (RDFC, blank node labels aside) and of the versions that judged and canonicalised them;
    None when FINHEALTHKG_CACHE=0 or there is no home to keep it in."""
    if os.environ.get("FINHEALTHKG_CACHE") == "0":
        return None
    try:
        home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    except RuntimeError:  # no home directory
        return None
    dataset = pyoxigraph.Dataset(pyoxigraph.parse(shapes.serialize(format="nt", encoding="utf-8"),
                                                  format=pyoxigraph.RdfFormat.N_TRIPLES))
    # UNSTABLE: the labels may change with Oxigraph's version, which is part of the key
    dataset.canonicalize(pyoxigraph.CanonicalizationAlgorithm.UNSTABLE)
    digest = hashlib.sha256(f"pyshacl {pyshacl.__version__} pyoxigraph {pyoxigraph.__version__}\n".encode())
    digest.update(SHACL_SHACL.read_bytes())
    digest.update(pyoxigraph.serialize(sorted(dataset, key=str), format=pyoxigraph.RdfFormat.N_QUADS))
    return home / "finhealthkg" / "conforming-shapes" / digest.hexdigest()


def _validate_data(sources: Sources, engine: str) -> tuple[Graph, str]:
    """The report graph of the knowledge graphs against the shapes, and the engine that made it."""
    if engine == "sparql":
        try:
            compiled = compile_shapes(sources.shapes)
        except UnsupportedShapeError as error:
            log.warning("%s; validating with pyshacl instead (slower on large graphs)", error)
        else:
            results = compiled.validate(sources.store, [NamedNode(g) for g in sources.knowledge_graphs])
            return results_graph(results, sources.shapes), "sparql"
    try:
        return _run(sources.knowledge_graph(), sources.shapes, advanced=True), "pyshacl"
    except (pyshacl.errors.ShapeLoadError, pyshacl.errors.ConstraintLoadError) as error:
        raise SourceError(f"the shapes in shapes/ cannot be used: {str(error).splitlines()[0]}") from error


def _written_twice(sources: Sources) -> list[Finding]:
    """A triple both in ontology/ and in data/ would be counted twice by the store's union."""
    findings = []
    both = sources.store.query(
        f"SELECT ?s ?p ?o WHERE {{ GRAPH <{ONTOLOGY_GRAPH}> {{ ?s ?p ?o }} GRAPH <{DATA_GRAPH}> {{ ?s ?p ?o }} }}")
    for row in both:
        subject, predicate, obj = (to_rdflib(row[name]) for name in ("s", "p", "o"))
        files = tuple(sources.relative(p) for p in sources.files_of(subject))
        findings.append(Finding(
            severity="Violation", checked="data", focus=str(subject), path=predicate.n3(),
            value=obj.n3(), message="This triple is written both in ontology/ and in data/; "
            "write it once, in the part it belongs to.", shape=None, files=files))
    return findings


def _run(data: Graph, shapes: Graph, *, advanced: bool) -> Graph:
    # pyshacl adds triples to the shapes graph it is given (seen: owl:Class rdfs:subClassOf
    # rdfs:Class); it gets a copy so that the sources stay exactly as written.
    shapes_copy = Graph()
    shapes_copy += shapes
    _conforms, report, _text = pyshacl.validate(
        data,
        shacl_graph=shapes_copy,
        advanced=advanced,  # SPARQL-based targets (SHACL Advanced Features)
        inference="none",
        allow_warnings=True,
        allow_infos=True,
    )
    return report


def _findings(report: Graph, checked: str, sources: Sources) -> list[Finding]:
    namespaces = Graph()
    for prefix, namespace in PREFIXES.items():
        namespaces.bind(prefix, namespace)
    manager = namespaces.namespace_manager

    def show(node: Node | None) -> str | None:
        if node is None:
            return None
        if isinstance(node, BNode):
            return _path_text(report, node, manager) or "(blank node)"
        return node.n3(manager)

    findings = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        focus = report.value(result, SH.focusNode)
        severity = report.value(result, SH.resultSeverity)
        messages = sorted(str(m) for m in report.objects(result, SH.resultMessage))
        files = tuple(sources.relative(p) for p in sources.files_of(focus))
        if isinstance(focus, URIRef):
            focus_text = str(focus)
        elif isinstance(focus, BNode):
            focus_text = _blank_node_text(sources.shapes, focus, manager)
        else:
            focus_text = show(focus) or "?"
        findings.append(Finding(
            severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
            checked=checked,
            focus=focus_text,
            path=show(report.value(result, SH.resultPath)),
            value=show(report.value(result, SH.value)),
            message=" / ".join(messages) or "(no message)",
            shape=_shape_name(report.value(result, SH.sourceShape), manager),
            files=files,
        ))
    return findings


def _blank_node_text(shapes: Graph, node: BNode, manager) -> str:
    """A blank node of the shapes as 'property shape (sh:path x) of fhkgsh:Named'."""
    path = shapes.value(node, SH.path)
    what = f"property shape (sh:path {path.n3(manager)})" if isinstance(path, URIRef) else "blank node"
    for parent, predicate in shapes.subject_predicates(node):
        if predicate in (SH.property, SH.sparql) and isinstance(parent, URIRef):
            return f"{what} of {parent.n3(manager)}"
    return what


def _path_text(report: Graph, node: BNode, manager) -> str | None:
    """sh:alternativePath ( a b ) as 'a | b'; other complex paths as their first step."""
    alternatives = report.value(node, SH.alternativePath)
    if alternatives is not None:
        steps = list(report.items(alternatives))
        return " | ".join(step.n3(manager) for step in steps)
    return None


def _shape_name(shape: Node | None, manager) -> str | None:
    if shape is None:
        return None
    if isinstance(shape, BNode):
        return "(a property shape)"
    return shape.n3(manager)


def _merge_reports(data_report: Graph, shapes_report: Graph, *, conforms: bool) -> Graph:
    """One sh:ValidationReport holding the results of both checks."""
    merged = Graph()
    for prefix, namespace in PREFIXES.items():
        merged.bind(prefix, namespace)
    report_node = BNode()
    merged.add((report_node, RDF.type, SH.ValidationReport))
    merged.add((report_node, SH.conforms, Literal(conforms)))
    for graph in (data_report, shapes_report):
        old_reports = set(graph.subjects(RDF.type, SH.ValidationReport))
        for s, p, o in graph:
            if s in old_reports:
                if p == SH.result:
                    merged.add((report_node, SH.result, o))
                continue
            merged.add((s, p, o))
    return merged
