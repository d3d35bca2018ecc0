"""``doctor``: the vendor's pre-upgrade checks, run for the engineer.

The installer manifest (skoala enabled, at the package's version), the package (skoala and
skoala-init in lockstep, checksum), the release values backup (its DSN and image registries) and
skoala's MySQL database (reachable, present, the vendor's tables and columns), each as ``ok``,
``warn`` or ``fail`` with one line of advice. The database is only read, never changed.
"""

from __future__ import annotations

from skoala_airgap.doctor.checks import DoctorInputs, run_doctor
from skoala_airgap.doctor.report import Check, Report

__all__ = ["Check", "DoctorInputs", "Report", "run_doctor"]
