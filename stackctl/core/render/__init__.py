"""Plans and findings for people and programs (all pure): ``render_text`` (human
text), ``render_json`` (JSON data), ``render_markdown``, ``findings_github`` and
``findings_sarif``. Import the module you need: this package imports none of them,
so ``validate --format github`` does not load the plan renderers."""
