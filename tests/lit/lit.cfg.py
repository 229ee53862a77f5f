# lit configuration for qmir. Tests are .mir files (and later .qz files) with
# `; RUN:` lines; %s is the test file, tools come from the build tree.
import os
import lit.formats

config.name = "qmir"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mir", ".test", ".qz"]
config.excludes = ["Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.qmir_obj_root, "tests", "lit")

config.environment["PATH"] = os.pathsep.join(
    [config.qmir_tools_dir, os.path.dirname(config.filecheck_path),
     config.environment.get("PATH", "")])
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%srcroot", config.qmir_src_root))
