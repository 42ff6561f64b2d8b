"""A custom import-linter contract: ``allowed_imports``.

import-linter's built-in contracts say what a module must NOT import; the rules for workflows and contracts are
allow-lists ("a workflow imports only its own flow's contract and activity definitions, and contracts of others";
"a contract imports nothing of the application"). This contract checks, for every module matching
``source_modules``, that each of its direct imports of the root package matches one of ``allowed`` (fnmatch
patterns, in which ``{flow}`` stands for the importing module's own flow package, e.g. ``boxoffice.checkout``).
Run by ``lint-imports`` (``make test``); configured in pyproject.toml.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output
from importlinter.domain.helpers import module_expressions_to_modules


class AllowedImportsContract(Contract):
    type_name = "allowed_imports"

    source_modules = fields.ListField(subfield=fields.ModuleExpressionField())
    allowed = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        root = self.session_options["root_packages"][0]
        sources = sorted(m.name for m in module_expressions_to_modules(graph, self.source_modules))  # type: ignore[arg-type]
        patterns: list[str] = list(self.allowed or [])  # type: ignore[arg-type]
        broken: list[dict[str, Any]] = []
        for source in sources:
            flow = ".".join(source.split(".")[:2])
            allowed = [p.replace("{flow}", flow) for p in patterns]
            for imported in sorted(graph.find_modules_directly_imported_by(source)):
                if not imported.startswith(root + "."):
                    continue  # external and standard-library imports are checked by forbidden contracts
                if not any(fnmatchcase(imported, p) for p in allowed):
                    lines = graph.get_import_details(importer=source, imported=imported)
                    broken.append({"importer": source, "imported": imported, "line": lines[0]["line_number"]})
        return ContractCheck(kept=not broken, metadata={"broken": broken, "sources": sources})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for b in check.metadata["broken"]:
            output.print_error(f"{b['importer']} imports {b['imported']} (line {b['line']}): not allowed here")
            output.new_line()
