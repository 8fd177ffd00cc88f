"""Beyond the papers: what the choice of model changes in the damping-like and field-like torques.

Three two-band ferromagnets at the same exchange J = 0.3 eV, M || z, current along x, versus the
Fermi energy (both bands occupied): the Rashba ferromagnet (alpha = 0.05 eV nm, m* = m_e), a
topological-insulator surface state with a small k^2 term (hbar v = 0.3 eV nm, c = 0.1 eV nm^2; its
sea is then bounded) and the square-lattice Rashba ferromagnet built to match the Rashba model at the
band bottom (t a^2 = hbar^2/2m_e, lambda a = alpha, a = 0.25 nm). Every number is exact-band (Fermi
contour fluxes through `jaxsot.ModelTorque` and `jaxsot.effective_fields`; the models have no closed
forms except Rashba, whose strong-exchange value is printed as a check). The relaxation time at each
E_F is the one at which the film carries j = E/rho0 (`jaxsot.transport_tau`, rho0 = 2e-7 ohm m,
t_F = 1 nm, mu0 M_s = 1 T), so the efficiencies are those a harmonic Hall measurement would report:
xi = (2e/hbar) M_s t_F B/j. Writes experiments/figures/model_comparison.png and prints the table.
"""

import json
import time

import jax

jax.config.update("jax_enable_x64", True)

import _figure_style  # noqa: E402  (this folder; run as python experiments/NAME.py)
import jax.numpy as jnp  # noqa: E402
import numpy as onp  # noqa: E402

import jaxsot  # noqa: E402

J_EX, RHO0, THICKNESS, MS = 0.3, 2.0e-7, 1.0, 1.0
C_KIN = jaxsot.constants.HBAR2_OVER_2ME
A_NM = 0.25  # k_F a <= 1.5: the seas stay star-shaped inside the first zone
MODELS = {
    "Rashba (alpha = 0.05 eV nm)": lambda: jaxsot.RashbaFerromagnet(0.05, J_EX, [0.0, 0.0, 1.0]),
    "TI surface (hbar v = 0.3 eV nm, c = 0.1 eV nm^2)": lambda: jaxsot.TISurfaceFerromagnet(0.3, J_EX, [0.0, 0.0, 1.0], kinetic=0.1),
    "square lattice (t a^2 = hbar^2/2m, lambda a = alpha)": lambda: jaxsot.SquareLatticeRashbaFerromagnet(
        C_KIN / A_NM**2, A_NM, 0.05 / A_NM, J_EX, [0.0, 0.0, 1.0]
    ),
}
FERMI = onp.linspace(0.32, 0.85, 12)
NUM = 96


def point(model, fermi_energy, magnet):
    efield = jnp.asarray([1.0e-4, 0.0])  # V/nm; the fields per current do not depend on it
    tau = jaxsot.transport_tau(model, fermi_energy, THICKNESS, RHO0, num=NUM)
    torque = jaxsot.ModelTorque(model, fermi_energy, efield, tau, num=NUM)
    fields = jaxsot.effective_fields(magnet, torque, jnp.asarray([0.0, 0.0, 1.0]), RHO0).exact
    return tau, float(fields.damping_like_efficiency), float(fields.field_like_efficiency), float(fields.damping_like_per_current), float(fields.field_like_per_current)


def main():
    started = time.perf_counter()
    magnet = jaxsot.Magnet(MS, THICKNESS, 0.01)
    table = {}
    for name, build in MODELS.items():
        model = build()
        rows = [point(model, float(ef), magnet) for ef in FERMI]
        table[name] = onp.asarray(rows)
        print(name)
        print("  E_F [eV]  tau [fs]   xi_DL       xi_FL      xi_DL/xi_FL")
        for ef, (tau, xdl, xfl, _, _) in zip(FERMI, rows):
            print(f"  {ef:6.3f}  {tau:8.3f}  {xdl: .4e}  {xfl: .4e}  {xdl / xfl: .4e}")
    # Check: the Rashba strong-exchange closed form of the damping-like efficiency at the lowest E_F.
    rashba = MODELS["Rashba (alpha = 0.05 eV nm)"]()
    n_lower, n_upper = (float(jaxsot.electron_density(rashba, FERMI[0], s)) for s in (-1, 1))
    closed = -(1.602176634e-19**2 * RHO0 / 1.054571817e-34) * (n_lower - n_upper) * 1e18 * (0.05 * 1.602176634e-28) / (J_EX * 1.602176634e-19)
    exact = table["Rashba (alpha = 0.05 eV nm)"][0, 1]
    print(f"Rashba check at E_F = {FERMI[0]:.3f} eV: xi_DL exact {exact:.4e}, strong exchange {closed:.4e} ({exact / closed - 1:+.2%})")

    plt = _figure_style.pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.2))
    styles = ["-o", "--s", ":^"]
    for (name, rows), style in zip(table.items(), styles):
        axes[0].plot(FERMI, rows[:, 1], style, label=name, markevery=2)
        axes[1].plot(FERMI, rows[:, 2], style, markevery=2)
        axes[2].plot(FERMI, onp.abs(rows[:, 1] / rows[:, 2]), style, markevery=2)
    axes[0].set(xlabel="Fermi energy E_F [eV]", ylabel=r"damping-like efficiency $\xi_{DL}$ (dimensionless)")
    axes[1].set(xlabel="Fermi energy E_F [eV]", ylabel=r"field-like efficiency $\xi_{FL}$ (dimensionless)")
    axes[2].set(xlabel="Fermi energy E_F [eV]", ylabel=r"$|\xi_{DL}/\xi_{FL}|$ (dimensionless)", yscale="log")
    axes[0].set_title("damping-like (intrinsic, T2 = -dS/dt)")
    axes[1].set_title("field-like (T1, rigid shift)")
    axes[2].set_title("damping-like / field-like")
    _figure_style.figure_legend(fig, axes[0].get_lines())
    fig.suptitle(f"Exact-band SOT efficiencies at J = {J_EX} eV, M || z, rho0 = {RHO0:g} ohm m, t_F = {THICKNESS:g} nm")
    path = _figure_style.save(fig, "model_comparison.png")
    print(f"wrote {path} in {time.perf_counter() - started:.1f} s")
    summary = {name: {"fermi_energy_eV": FERMI.tolist(), "tau_fs": rows[:, 0].tolist(), "xi_DL": rows[:, 1].tolist(), "xi_FL": rows[:, 2].tolist()}
               for name, rows in table.items()}
    print(json.dumps({k: {"xi_DL_range": [min(v["xi_DL"]), max(v["xi_DL"])], "xi_FL_range": [min(v["xi_FL"]), max(v["xi_FL"])]} for k, v in summary.items()}))


if __name__ == "__main__":
    main()
