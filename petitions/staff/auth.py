"""Signing in and out, accepting an invitation, changing one's password.

The argon2 work (checking a password, hashing a new one) runs outside any transaction: on
SQLite a POST's transaction holds back every other writer, signatures included (see
:mod:`petitions.services.staff_login`). Each view reads first (a read phase, or the gate's
read, which it ends), hashes, then writes briefly.
"""

from __future__ import annotations

import time

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import login_user, logout_user

from petitions.extensions import db
from petitions.models.database import end_reading
from petitions.models.staff import StaffUser
from petitions.services import staff_accounts, staff_login
from petitions.services.passwords import PasswordRejected, new_password_hash
from petitions.staff.forms import ChangePasswordForm, LoginForm, NewPasswordForm
from petitions.staff.gate import current_staff
from petitions.staff.safe_redirect import safe_next
from petitions.web.login_throttle import login_throttle
from petitions.web.unit_of_work import keep_writes_on_refusal, reading_first

bp = Blueprint("auth", __name__)


def _start_session(user: StaffUser) -> None:
    """A new session for the new login: nothing from before it (but the language) carries over."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    login_user(user)
    session["staff_seen"] = int(time.time())


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        email, password = form.email.data or "", form.password.data or ""
        wait = login_throttle().wait_before(email)
        if wait:  # refused at once: no password is checked, no worker is held
            message = ngettext(
                "Too many failed sign-ins for this account. Try again in %(num)d second.",
                "Too many failed sign-ins for this account. Try again in %(num)d seconds.",
                wait,
            )
            form.password.errors = [message]
            page = render_template("staff/login.html", form=form)
            return page, 429, {"Retry-After": str(wait)}
        with reading_first():  # no transaction is open while argon2 works
            attempt = staff_login.find_account(email)
        checked = staff_login.check_password(attempt, password)
        user = staff_login.record_login(checked)
        if user is not None:
            login_throttle().succeeded(email)
            _start_session(user)
            return redirect(safe_next(form.next.data), code=303)
        login_throttle().failed(email)
        keep_writes_on_refusal()  # the failure stays in the audit trail
        form.password.errors = [str(_l("The email address or the password is not right."))]
    status = 400 if request.method == "POST" else 200
    return render_template("staff/login.html", form=form), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    staff_accounts.logout(current_staff())
    logout_user()
    session.clear()
    flash(_l("You are signed out."))
    return redirect(url_for("staff.auth.login"), code=303)


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> ResponseReturnValue:
    with reading_first():
        invitation = staff_accounts.open_invitation(token)
        if invitation is None:
            return render_template("staff/invitation_invalid.html"), 404
        db.session.expunge(invitation)  # the page shows it after the read has ended
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            password_hash = new_password_hash(form.password.data or "", invitation.email)
            user = staff_accounts.accept_invitation(token, password_hash)
        except PasswordRejected as error:
            form.password.errors = [str(error)]
        except staff_accounts.StaffError as error:
            form.password.errors = [str(error)]
        else:
            _start_session(user)
            flash(_l("Welcome! Your account is ready."))
            return redirect(url_for("staff.home.index"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("staff/accept_invitation.html", form=form, invitation=invitation), status


@bp.route("/account/password", methods=["GET", "POST"])
def change_password() -> ResponseReturnValue:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_staff()
        checked_hash, email = user.password_hash, user.email
        end_reading()  # the gate's read began this POST's write transaction: end it
        try:
            new_hash = staff_accounts.hash_password_change(
                checked_hash, email, form.password.data or "", form.current_password.data or ""
            )
            staff_accounts.change_password(user, new_hash, checked_hash)
        except staff_accounts.WrongCurrentPassword as error:
            staff_accounts.refuse_password_change(user)
            keep_writes_on_refusal()  # the refusal stays in the audit trail
            form.current_password.errors = [str(error)]
        except staff_accounts.StaffError as error:
            form.current_password.errors = [str(error)]
        except PasswordRejected as error:
            form.password.errors = [str(error)]
        else:
            # Every other session of the account has ended; this one goes on.
            _start_session(user)
            flash(_l("Your password is changed. Your other sessions are signed out."))
            return redirect(url_for("staff.home.index"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("staff/change_password.html", form=form), status
