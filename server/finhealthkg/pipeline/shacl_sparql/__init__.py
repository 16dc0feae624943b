"""SHACL validation compiled to SPARQL and evaluated by Oxigraph.

pyshacl (see validate.py) stays the reference validator; this engine reports the same results
and is meant for graphs too big for pyshacl over rdflib. It supports exactly the SHACL features
the project's shapes use and raises `UnsupportedShapeError`, naming the shape and the feature,
on anything else, so that no shape is ever silently skipped.

Entry points: `validate_store(store, graphs, shapes_graph)` validates the union of `graphs` of a
pyoxigraph Store (its default graph when None); `compile_shapes(shapes_graph)` compiles once
for several validations (`CompiledShapes.validate`, `CompiledShapes.queries`).

How the shapes become queries:

* Targets. Every node shape with sh:targetClass (SHACL instances:
  ``?this rdf:type/rdfs:subClassOf* C``) or a SHACL-AF SPARQL target (sh:target with
  sh:select, as a sub-SELECT) gets one *focus query*. It returns each focus node with one
  boolean column per node-level constraint (sh:nodeKind, sh:pattern, sh:or, ...) and runs once;
  the focus nodes are kept as a Python set, so the (possibly expensive) target query is never
  repeated by the constraints.
* Constraints on values compile to SPARQL boolean expressions over the value node: sh:nodeKind,
  sh:pattern (REGEX on STR, false for blank nodes), sh:datatype, sh:class, sh:minLength, sh:in,
  sh:languageIn, sh:node and sh:or; a shape used by sh:node, sh:or or sh:qualifiedValueShape
  compiles to the conjunction of its constraints, its property shapes as EXISTS / NOT EXISTS.
* Property shapes are evaluated per path, in scans shared by all the property shapes (of all
  node shapes) with that path, so that, say, the sh:class prov:Entity of dcterms:source is
  checked once for the five shapes that have it (`_PathScan`):
  - a *value query*: one boolean column per distinct value constraint, the rows failing one;
  - a *subjects query*: the subjects with a value; the focus nodes missing from it have none,
    and fail sh:minCount, sh:qualifiedMinCount and sh:hasValue once each;
  - a *count query*: per subject (GROUP BY), COUNT(DISTINCT) of the values, of the values
    conforming to each qualified value shape, of each sh:hasValue value, of the
    language-tagged values and of their languages (sh:uniqueLang), the rows where a
    constraint fails;
  - a *uniqueLang query* (the duplicated languages), only when the counts show one.
  The rows of a shape whose targets are classes are restricted in SPARQL (an EXISTS on the
  target classes, evaluated on the failing rows only); every row is then matched against the
  focus-node set of each shape in Python.
* A SHACL-SPARQL constraint (sh:sparql with sh:select) is one query: its text after the
  sh:prefixes declarations (and the prefixes rdflib binds by default, which pyshacl resolves
  too). $this is pre-bound by joining the focus nodes (the target pattern) at the start of the
  WHERE group, unless the query binds $this itself in every solution: then it runs as written
  and its rows are kept for the focus nodes. The query text is parsed enough to reject what a
  join cannot pre-bind ($this in a FILTER or BIND of a nested group that does not bind it, in
  MINUS, VALUES, SERVICE or a sub-SELECT). ``FILTER NOT EXISTS { P }`` is run as
  ``MINUS { P }`` where that means the same, because Oxigraph evaluates the former in time
  proportional to the data for every solution (see `_Group.minus_edits`).

Results (`Result`) carry what pyshacl's sh:result carries: severity, focus node, result path,
value, messages (sh:message, with {?var}/{$var} filled from the solution for SPARQL
constraints, as pyshacl does, else a default message), the source shape (the node shape, or
the property shape node of the shapes graph), the named node shape it belongs to, the
constraint component and, for a SPARQL constraint, its node.

SHACL details pyshacl follows and this engine reproduces: sh:datatype rdf:langString means "has
a language tag"; a literal of the datatype that is ill-typed does not match (decided by rdflib,
as in pyshacl, through a SPARQL custom function); sh:class and targets follow
rdfs:subClassOf*; sh:languageIn matches the tag or its first subtag, case-insensitively;
sh:uniqueLang gives one result per duplicated language, without value; qualified value shapes
count distinct conforming values; results of sh:node carry the value, the nested results are
not reported; sh:minCount, sh:qualifiedMinCount and sh:hasValue give one result per focus node,
without value; a SHACL-SPARQL result without ?value has the focus node as value, and the node
shape's own sh:message is added to the constraint's.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyoxigraph as ox
from rdflib import Graph

from .compiler import _Compiler
from .model import GraphName, Result, UnsupportedShapeError
from .runner import CompiledShapes

__all__ = ["Result", "CompiledShapes", "UnsupportedShapeError", "compile_shapes", "validate_store"]


def validate_store(store: ox.Store, graphs: Sequence[GraphName] | None, shapes_graph: Graph) -> list[Result]:
    """Validate the union of `graphs` of `store` (its default graph if None) against the shapes."""
    return compile_shapes(shapes_graph).validate(store, graphs)


def compile_shapes(shapes_graph: Graph) -> CompiledShapes:
    """Compile the shapes; raise UnsupportedShapeError on any feature this engine lacks."""
    return _Compiler(shapes_graph).compile()
