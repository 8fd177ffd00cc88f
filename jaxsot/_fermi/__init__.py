"""The Fermi sea: exact contours (one root solver, implicit derivatives), sea nodes, occupied bands."""

from ._contour import band_touching_report as band_touching_report
from ._contour import electron_density as electron_density
from ._contour import fermi_contour as fermi_contour
from ._contour import fermi_contour_normals as fermi_contour_normals
from ._contour import fermi_sea_nodes as fermi_sea_nodes
from ._contour import fermi_sea_status as fermi_sea_status
from ._contour import occupied_bands as occupied_bands
from ._mesh import MeshOptions as MeshOptions
from ._route import fermi_sea_route as fermi_sea_route
from ._route import SeaIntegral as SeaIntegral
from ._route import fermi_sea_integral as fermi_sea_integral
from ._route import fermi_line_integral as fermi_line_integral
