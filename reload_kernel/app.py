"""The kernel application: IPython's kernel app running ReloadKernel."""

from __future__ import annotations

from ipykernel.kernelapp import IPKernelApp
from traitlets import Type

from .kernel import ReloadKernel


class ReloadKernelApp(IPKernelApp):
    """Keeps the name ``ipython-kernel`` so users' ``ipython_kernel_config.py`` applies."""

    kernel_class = Type(ReloadKernel, klass=ReloadKernel).tag(config=True)  # type: ignore[arg-type]
    subcommands = {}  # type: ignore[assignment]  # ipykernel's "install" would install plain ipykernel


def launch(argv: list[str]) -> None:
    ReloadKernelApp.launch_instance(argv=argv)
