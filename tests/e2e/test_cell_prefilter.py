"""Through a real kernel: the cells whose imports are not read (most cells: no ``import``, no
imported name) are only those that cannot bind one.

The kernel decides from the cell as typed, before IPython's transforms. That holds for IPython's
own transforms only: once an extension adds one, it may write an import the cell never typed.
"""

from __future__ import annotations

from .harness import Notebook

#: An input transformer an extension might add: ``use MODULE NAME`` lines become imports.
#: (Its own cell never spells the word out, so that only the transformer writes it.)
ADD_USE_TRANSFORM = """\
def _use_lines(lines):
    keyword = "imp" + "ort"
    return [
        "from {} {} {}\\n".format(line.split()[1], keyword, line.split()[2])
        if line.startswith("use ") else line
        for line in lines
    ]
get_ipython().input_transformer_manager.cleanup_transforms.append(_use_lines)
"""


def test_import_written_by_an_added_input_transform_follows_its_module(
    notebook: Notebook,
) -> None:
    notebook.write("shapes_prefilter.py", "SIDES = 3\n")
    notebook.run(ADD_USE_TRANSFORM).check()
    notebook.run("use shapes_prefilter SIDES").check()
    assert notebook.value("SIDES") == "3"
    notebook.write("shapes_prefilter.py", "SIDES = 40\n")
    assert notebook.value("SIDES") == "40"


def test_name_reassigned_to_the_same_object_without_import_is_the_users(
    notebook: Notebook,
) -> None:
    notebook.write("limits_prefilter.py", "LIMITS = [1]\n")
    notebook.run("from limits_prefilter import LIMITS\nimport limits_prefilter").check()
    # No "import" in this cell: it is read because it names a bound name.
    notebook.run("LIMITS = limits_prefilter.LIMITS").check()
    notebook.write("limits_prefilter.py", "LIMITS = [1, 2]\n")
    assert notebook.value("limits_prefilter.LIMITS") == "[1, 2]"
    assert notebook.value("LIMITS") == "[1]"
