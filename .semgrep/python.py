# Test cases for python.yml: `semgrep --test .semgrep/` checks that each `ruleid:` line is found and each
# `ok:` line is not. Never imported or run.
# ruff: noqa
import csv
# ruleid: pickle
import marshal

import flask
import jinja2
import sqlalchemy
import xlsxwriter
import yaml
from markupsafe import Markup, escape
from sqlalchemy import text

# ruleid: yaml-unsafe-load
yaml.load(data)
# ruleid: yaml-unsafe-load
yaml.load(data, Loader=yaml.Loader)
# ruleid: yaml-unsafe-load
yaml.unsafe_load(data)
# ruleid: yaml-unsafe-load
yaml.full_load(data)
# ok: yaml-unsafe-load
yaml.safe_load(data)

# ruleid: markup-constructor
Markup(user_text)
# ruleid: markup-constructor
Markup(f"<b>{name}</b>")
# ruleid: markup-constructor
flask.Markup(user_text)
# ok: markup-constructor
Markup("<br>")
# ok: markup-constructor
escape(user_text)

# ruleid: render-template-string
flask.render_template_string(source, name=name)
# ruleid: render-template-string
jinja2.Template(source)
# ok: render-template-string
flask.render_template("page.html", name=name)

# ruleid: sql-built-from-strings
text(f"SELECT * FROM users WHERE email = '{email}'")
# ruleid: sql-built-from-strings
sqlalchemy.text("SELECT * FROM users WHERE id = %s" % user_id)
# ruleid: sql-built-from-strings
text("SELECT * FROM {}".format(table))
# ruleid: sql-built-from-strings
text("SELECT * FROM users WHERE email = '" + email + "'")
# ruleid: sql-built-from-strings
cursor.execute(f"DELETE FROM users WHERE id = {user_id}")
# ruleid: sql-built-from-strings
connection.exec_driver_sql(f"PRAGMA busy_timeout={timeout}")
# ruleid: sql-built-from-strings
text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), " f"(SELECT max(id) FROM {name}))")
# ruleid: sql-built-from-strings
cursor.execute(f"SELECT 1 FROM {table} " "WHERE id = 1")
# ok: sql-built-from-strings
text("SELECT * FROM users WHERE email = :email")
# ok: sql-built-from-strings
cursor.execute("DELETE FROM users WHERE id = %s", (user_id,))

# ruleid: pickle
import pickle
# ruleid: pickle
pickle.loads(blob)
# ruleid: pickle
marshal.loads(blob)

# ruleid: spreadsheet-writer-outside-exports
csv.writer(handle)
# ruleid: spreadsheet-writer-outside-exports
csv.DictWriter(handle, fieldnames)
# ruleid: spreadsheet-writer-outside-exports
xlsxwriter.Workbook(path)
# ok: spreadsheet-writer-outside-exports
csv.reader(handle)
