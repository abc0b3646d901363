"""The kernel application: IPython's kernel app running ReloadKernel."""

from __future__ import annotations

from ipykernel.kernelapp import IPKernelApp
from traitlets import Type

from .kernel import ReloadKernel


class ReloadKernelApp(IPKernelApp):
    """Keeps the name ``ipython-kernel`` so users' ``ipython_kernel_config.py`` applies."""

    kernel_class = Type(ReloadKernel, klass=ReloadKernel).tag(config=True)  # type: ignore[arg-type]
    # Listing ReloadKernel makes `--help-all` show its options and lets traitlets parse list
    # options (``--ReloadKernel.exclude a b``) with the trait's own type.
    classes = [ReloadKernel, *IPKernelApp.classes]  # noqa: RUF012
    # ipykernel's own "install" subcommand would install a plain ipykernel spec: not ours.
    subcommands: dict[str, object] = {}  # type: ignore[assignment]  # noqa: RUF012


def launch(argv: list[str]) -> None:
    ReloadKernelApp.launch_instance(argv=argv)
