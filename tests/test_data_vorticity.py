"""Vorticity schemes: analytic fields, the course's formula bit for bit, jit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from turbjax.data.vorticity import (
    derivative,
    vorticity,
    vorticity_course,
    vorticity_forward,
    vorticity_grid_shape,
)


def grid(nx, ny, dx, dtype=np.float64):
    x = (np.arange(nx) - nx / 2) * dx
    y = (np.arange(ny) - ny / 3) * dx
    return [a.astype(dtype) for a in np.meshgrid(x, y, indexing="ij")]


def field(ux, uy, frames=2):
    return np.stack([np.broadcast_to(ux, (frames, *ux.shape)), np.broadcast_to(uy, (frames, *uy.shape))], -1)


@pytest.mark.parametrize("dx", [1.0, 1.0 / 128])
def test_solid_body_rotation_has_vorticity_2w_everywhere_edges_included(dx):
    w = 0.37
    X, Y = grid(9, 7, dx)
    omega = vorticity(field(-w * Y, w * X), dx)
    assert omega.shape == (2, 9, 7)
    np.testing.assert_allclose(omega, 2 * w, rtol=1e-12)


def test_linear_shear():
    # u = (a y, 0): omega = -a; u = (0, b x): omega = b.
    X, Y = grid(6, 5, 0.5)
    np.testing.assert_allclose(vorticity(field(2.5 * Y, 0 * X), 0.5), -2.5, rtol=1e-12)
    np.testing.assert_allclose(vorticity(field(0 * Y, -1.5 * X), 0.5), -1.5, rtol=1e-12)


def test_quadratic_field_is_exact_at_the_edges_too():
    # uy = x^2 -> d uy/dx = 2x, also at the one-sided edges (second order is exact for quadratics).
    dx = 0.25
    X, _Y = grid(8, 5, dx)
    omega = vorticity(field(0 * X, X**2), dx)
    np.testing.assert_allclose(omega, np.broadcast_to(2 * X, omega.shape), atol=1e-12)


def test_derivative_needs_three_points():
    with pytest.raises(ValueError, match="at least 3 points along axis 1, got 2"):
        derivative(np.zeros((1, 2, 5)), axis=1)


def test_vorticity_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"velocity must be shaped \(time, nx, ny, 2\), got \(4, 5, 3\)"):
        vorticity(np.zeros((4, 5, 3)))
    with pytest.raises(ValueError, match=r"raw \(course layout\) must be shaped"):
        vorticity_course(np.zeros((4, 5, 3, 3)))


def course_reference(raw):
    """The notebook's expression, verbatim."""
    return np.diff(raw, axis=1)[..., :-1, 1] + np.diff(raw, axis=2)[:, :-1, :, 0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_course_formula_is_bit_for_bit_the_notebooks(dtype):
    raw = np.random.default_rng(0).normal(size=(5, 16, 12, 2)).astype(dtype) * 0.05
    ours = vorticity_course(raw)
    assert ours.dtype == dtype and ours.shape == (5, 15, 11)
    np.testing.assert_array_equal(ours, course_reference(raw))


def test_course_formula_in_jax_float64_is_bit_for_bit():
    raw = np.random.default_rng(1).normal(size=(3, 10, 8, 2)) * 0.05
    with jax.enable_x64(True):
        ours = jax.jit(vorticity_course)(jnp.asarray(raw))
        assert ours.dtype == jnp.float64
        np.testing.assert_array_equal(np.asarray(ours), course_reference(raw))


def test_forward_on_ux_uy_equals_course_on_minus_ux_uy_bit_for_bit():
    v = np.random.default_rng(2).normal(size=(3, 9, 7, 2))
    raw = np.stack([-v[..., 0], v[..., 1]], -1)
    np.testing.assert_array_equal(vorticity_forward(v), vorticity_course(raw))


def test_course_scheme_is_omega_in_lattice_units():
    # Solid-body rotation in lattice units: forward differences of a linear field are exact, omega = 2 W.
    w = 1e-3
    X, Y = grid(7, 6, 1.0)
    np.testing.assert_allclose(vorticity_forward(field(-w * Y, w * X)), 2 * w, rtol=1e-12)


def test_jit_matches_numpy_float32():
    v = np.random.default_rng(3).normal(size=(2, 8, 6, 2)).astype(np.float32)
    ours = jax.jit(vorticity, static_argnums=1)(jnp.asarray(v), 1.0)
    assert isinstance(ours, jax.Array) and ours.shape == (2, 8, 6)
    np.testing.assert_allclose(np.asarray(ours), vorticity(v, 1.0), rtol=1e-6, atol=1e-6)


def test_grid_shapes():
    assert vorticity_grid_shape(256, 128, "central") == (256, 128)
    assert vorticity_grid_shape(256, 128, "course") == (255, 127)
    with pytest.raises(ValueError, match=r"unknown vorticity scheme 'upwind'; expected one of \('central', "
                                         r"'course'\)"):
        vorticity_grid_shape(4, 4, "upwind")
