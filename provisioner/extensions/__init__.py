"""Commerce Extensions (Custom APIs): the API's facts and the pure checks built on them.

- `facts`: patterns, field types, validation shapes, limits and create-only attributes, each
  citing `epcc-api.md` section 10 or `commerce-extensions.yaml` (26.0608).
- `rules`: pure functions over definitions in the API's own shape, returning `Violation`s
  (path, what is wrong, what was expected). The local store turns them into 400s; a later
  `validate` of a `custom_apis:` YAML key turns them into located diagnostics.

Neither module does I/O or imports anything of ours beyond `errors`.
"""
