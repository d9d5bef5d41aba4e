"""ekg's exports read back by tools ekg did not write.

- `ekg neighborhood` GraphML, GEXF 1.3 and cytoscape.js JSON, read by networkx: the same nodes and
  edges in all three, numbers as numbers and booleans as booleans.
- `ekg export --format kuzu`, loaded into Kùzu with its own schema.cypher and copy.cypher: the
  nodes per kind and relationships per relation equal what `ekg info` counts.
- `ekg export --format neo4j`: every file has neo4j-admin's header (typed properties, :ID and
  :LABEL, :START_ID/:END_ID/:TYPE) and the rows add up to the same counts.

Usage, from the repository root: python tests/interop/check_exports.py EKG_BINARY
"""

import csv
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import kuzu
import networkx as nx

EKG = sys.argv[1]
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = str(ROOT / "sample-data")


def ekg(*args):
    return subprocess.run([EKG, *args, "--quiet"], check=True, capture_output=True, text=True).stdout


def check(condition, message):
    if not condition:
        raise SystemExit(f"FAILED: {message}")
    print(f"ok - {message}")


def rows(connection, query):
    result = connection.execute(query)
    out = []
    while result.has_next():
        out.append(result.get_next())
    return out


with tempfile.TemporaryDirectory() as tmp:
    tmp = Path(tmp)
    scores = tmp / "scores"
    ekg("score", SAMPLE, "--out", str(scores))
    scratch = kuzu.Connection(kuzu.Database(str(tmp / "scratch.kuzu")))
    # A flagged firm: its neighbourhood carries scores, flags and every kind of attribute.
    firm = rows(scratch, f"LOAD FROM '{scores / 'flags.parquet'}' WHERE flag = 'contagion_risk' RETURN node_id LIMIT 1")[0][0]

    graphs = {}
    for fmt in ["graphml", "gexf", "cytoscape"]:
        out = tmp / f"n.{fmt}"
        ekg("neighborhood", firm, "--graph", SAMPLE, "--scores", str(scores), "--hops", "2", "--format", fmt, "--out", str(out))
        if fmt == "graphml":
            graphs[fmt] = nx.read_graphml(out)
        elif fmt == "gexf":
            graphs[fmt] = nx.read_gexf(out, version="1.3")
        else:
            graphs[fmt] = nx.cytoscape_graph(json.loads(out.read_text()))
    sizes = {f: (g.number_of_nodes(), g.number_of_edges()) for f, g in graphs.items()}
    check(len(set(sizes.values())) == 1 and sizes["graphml"][0] > 10, f"GraphML, GEXF 1.3 and cytoscape.js JSON hold the same graph {sizes}")
    for fmt, g in graphs.items():
        data = g.nodes[firm]
        check(isinstance(data["pagerank"], float) and isinstance(data["community"], int), f"{fmt}: scores are numbers")
        check(isinstance(data["defaulted"], bool), f"{fmt}: defaulted is a boolean")
        amounts = [d["amount"] for _, _, d in g.edges(data=True) if "amount" in d]
        check(amounts and all(isinstance(a, float) for a in amounts), f"{fmt}: {len(amounts)} edge amounts are numbers")

    info = json.loads(ekg("info", SAMPLE, "--json"))
    nodes_by_kind = {kind: n for kind, n in info["nodes_by_kind"]}
    edges_by_relation = {r["relation"]: r["edges"] for r in info["relations"]} if isinstance(info["relations"], list) else info["relations"]

    kz = tmp / "kuzu-export"
    ekg("export", SAMPLE, "--format", "kuzu", "--out", str(kz))
    db = kuzu.Database(str(tmp / "graph.kuzu"))
    conn = kuzu.Connection(db)
    for script in ["schema.cypher", "copy.cypher"]:
        for statement in (kz / script).read_text().split(";"):
            statement = "\n".join(l for l in statement.splitlines() if not l.startswith("//")).strip()
            if statement:
                conn.execute(statement.replace("FROM '", f"FROM '{kz}/"))
    for kind, label in [("firm", "Firm"), ("person", "Person"), ("account", "Account"), ("loan", "Loan")]:
        count = rows(conn, f"MATCH (n:{label}) RETURN count(n)")[0][0]
        check(count == nodes_by_kind.get(kind, 0), f"kuzu: {count} {label} nodes, as ekg info counts")
    loaded = Counter()
    for name in rows(conn, "CALL show_tables() RETURN name, type"):
        if name[1] == "REL":
            relation = name[0].rsplit("_", 2)[0]
            loaded[relation] += rows(conn, f"MATCH ()-[r:{name[0]}]->() RETURN count(r)")[0][0]
    for relation, count in edges_by_relation.items():
        check(loaded[relation] == count, f"kuzu: {loaded[relation]} {relation} relationships, as ekg info counts")
    check(rows(conn, f"MATCH (f:Firm) WHERE f.id = '{firm}' RETURN f.pd")[0][0] is not None, "kuzu: properties are typed and queryable")

    neo = tmp / "neo4j-export"
    ekg("export", SAMPLE, "--format", "neo4j", "--out", str(neo))
    counted_nodes, counted_rels = Counter(), Counter()
    for path in sorted(neo.glob("*.csv")):
        with open(path, newline="") as f:
            reader = csv.reader(f)
            header = next(reader)
            body = list(reader)
        if header[0] == "id:ID":
            check(header[-1] == ":LABEL" and all(r[-1] == path.stem for r in body), f"neo4j: {path.name} has :ID and :LABEL")
            counted_nodes[path.stem] += len(body)
        else:
            check(header[:3] == [":START_ID", ":END_ID", ":TYPE"], f"neo4j: {path.name} has :START_ID, :END_ID, :TYPE")
            counted_rels[body[0][2].lower() if body else path.stem] += len(body)
        typed = [h for h in header if ":" in h and not h.startswith(":") and not h.startswith("id:")]
        check(all(h.split(":")[1] in {"double", "boolean", "date", "datetime"} for h in typed), f"neo4j: {path.name} types {typed}")
    check(sum(counted_nodes.values()) == sum(nodes_by_kind.values()), "neo4j: every node once")
    check(sum(counted_rels.values()) == sum(edges_by_relation.values()), "neo4j: every relationship once")
    check("neo4j-admin database import full" in (neo / "import.sh").read_text(), "neo4j: import.sh runs neo4j-admin")
print("exports read back")
