from gittasks.main import entry

entry()
