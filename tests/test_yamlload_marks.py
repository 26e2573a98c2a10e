"""A file read by the loader's fast path keeps only its first levels of marks (issue 16).

The deeper marks (every attribute of every field) were half the memory of loading 50,000
fields, and a valid file never needs them: they are read again from the text when a problem
or a warning asks for one. The answers must be the pure-Python loader's, however they are
asked for (by path, by membership, by iteration), and whichever file was asked last.
"""

from __future__ import annotations

from provisioner.yamlload import fast as yamlload_fast
from provisioner.yamlload.fast import fast_load
from provisioner.yamlload.pure import slow_load

TEXT = """flows:
  wishlists:
    name: Wishlists
    fields:
      size:
        name: Size
        field_type: integer
        validation_rules:
          - type: between
            options: {from: 1, to: 5}
"""


def test_deep_marks_are_found_again_and_equal_the_pure_python_loader() -> None:
    fast = fast_load(TEXT)
    slow = slow_load(TEXT)
    assert fast is not None
    deep = ("flows", "wishlists", "fields", "size", "validation_rules", 0, "options", "to")
    shallow = ("flows", "wishlists", "fields", "size")
    marks = fast.value_marks
    assert isinstance(marks, yamlload_fast._Marks)
    assert all(len(path) <= yamlload_fast.SHALLOW for path in marks.shallow)
    assert shallow in marks.shallow  # at hand: the planner's locations need no re-read
    assert marks[deep] == slow.value_marks[deep] == (10, 36)
    assert fast.key_marks[deep] == slow.key_marks[deep] == (10, 32)
    assert fast.locate(deep) == slow.locate(deep)
    assert fast.locate_value(("flows", "wishlists", "fields", "size", "name")) == (6, 15)
    assert ("flows", "nowhere", "fields", "x", "name") not in marks
    assert dict(fast.value_marks) == slow.value_marks
    assert dict(fast.key_marks) == slow.key_marks


def test_marks_survive_other_files_being_asked_in_between() -> None:
    documents = [
        fast_load(TEXT.replace("Size", f"Size {index}"))
        for index in range(yamlload_fast._DEEP_CACHE_SIZE + 3)
    ]
    path = ("flows", "wishlists", "fields", "size", "name")
    for document in [*documents, *documents]:
        assert document is not None
        assert document.value_marks[path] == (6, 15)
        assert document.key_marks[path] == (6, 9)
    assert len(yamlload_fast._DEEP_CACHE) <= yamlload_fast._DEEP_CACHE_SIZE
