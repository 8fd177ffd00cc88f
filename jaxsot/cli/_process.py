"""The process a CLI command runs in: JAX precision, the compilation cache, CPU cores as devices, and the
meeting of the processes of a distributed run.
"""

import contextlib
import os
import pathlib
import time

from ._paths import UsageError

def rendezvous(coordinator: str, num_processes: int, process_id: int, timeout: float) -> None:
    """Meet every process of a distributed run at the coordinator's address before JAX does, so that a
    process that never comes (or a wrong address) gives one UsageError after `timeout` seconds
    instead of an abort inside the JAX runtime. Process 0 listens on the coordinator's port (then
    closes it for JAX's service); the others connect, retrying, and wait for process 0's go-ahead."""
    import socket

    host, _, port = coordinator.rpartition(":")
    host, port = host.strip("[]"), int(port)
    deadline = time.monotonic() + timeout
    fix = "allowed: start all --num-processes processes with the same --coordinator, or a longer --coordinator-timeout"
    if num_processes == 1:
        return
    if process_id == 0:
        try:
            server = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
        except OSError as error:
            raise UsageError(f"--coordinator {coordinator}: cannot listen there ({error.strerror or error}); {fix}") from None
        peers = {}
        try:
            while len(peers) < num_processes - 1:
                server.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    peer, _ = server.accept()
                    peer.settimeout(max(0.01, deadline - time.monotonic()))
                    number = int(peer.recv(16).decode().strip() or -1)
                except (socket.timeout, ValueError, OSError):
                    if time.monotonic() >= deadline:
                        raise UsageError(
                            f"--coordinator {coordinator}: {len(peers) + 1} of {num_processes} processes arrived within "
                            f"--coordinator-timeout {timeout:g} s; {fix}"
                        ) from None
                    continue
                if 0 < number < num_processes and number not in peers:
                    peers[number] = peer
                else:
                    peer.close()
            for peer in peers.values():
                with contextlib.suppress(OSError):
                    peer.sendall(b"go\n")
        finally:
            for peer in peers.values():
                peer.close()
            server.close()
        return
    while True:
        try:
            with socket.create_connection((host, port), timeout=max(0.01, min(2.0, deadline - time.monotonic()))) as link:
                link.sendall(f"{process_id}\n".encode())
                link.settimeout(max(0.01, deadline - time.monotonic()))
                if link.recv(8).startswith(b"go"):
                    return
        except OSError:
            pass
        if time.monotonic() >= deadline:
            raise UsageError(f"--coordinator {coordinator}: process 0 was not reached within --coordinator-timeout {timeout:g} s; {fix}")
        time.sleep(0.2)


def set_precision(precision: str):
    """Switch JAX to float64 or float32 for this process (the CLI chooses; the library follows inputs)."""
    import jax

    jax.config.update("jax_enable_x64", precision == "float64")
    import jax.numpy as jnp

    return jnp.float64 if precision == "float64" else jnp.float32


def enable_compilation_cache() -> str | None:
    """Keep compiled programs between runs in JAX's persistent cache (the second `jaxsot run` skips
    most of its compilation). The folder is $JAX_COMPILATION_CACHE_DIR, else ~/.cache/jaxsot/jax;
    JAXSOT_COMPILATION_CACHE=0 switches it off. Returns the folder, or None when off."""
    if os.environ.get("JAXSOT_COMPILATION_CACHE", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    import jax

    folder = os.environ.get("JAX_COMPILATION_CACHE_DIR") or str(pathlib.Path.home() / ".cache" / "jaxsot" / "jax")
    try:
        pathlib.Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # an unwritable home: run without the cache rather than fail
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    return folder


def use_cpu_cores_as_devices() -> None:
    """Expose each CPU core as a JAX device, so ensembles and sweeps split their work over the cores.

    Must run before JAX starts its backend; an XLA_FLAGS setting of the user's wins. GPUs are
    unaffected (the flag only concerns the host platform).
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        count = max(1, min(os.cpu_count() or 1, 16))
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={count}".strip()
