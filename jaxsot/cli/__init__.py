"""The command-line interface: `jaxsot run | sweep | llg | validate | fit | synth | default-config`.

A thin layer: config file -> frozen option objects -> library calls -> files and plots. Nothing in
the physics packages imports it; `import jaxsot` does not load it.
"""

from ._main import main as main
