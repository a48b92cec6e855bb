"""The Textual UI of `mlinspect diff` and `mlinspect browse`, the only package that imports Textual."""
