# shellcheck shell=bash
# Source me: puts this checkout on Ansible's collection path as dockerup.bootstrap (build/collections),
# and makes Ansible run modules with this Python (the one that has docker and jsonschema).
_dockerup_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$_dockerup_root/build/collections/ansible_collections/dockerup"
ln -sfn ../../../.. "$_dockerup_root/build/collections/ansible_collections/dockerup/bootstrap"
export DOCKERUP_ROOT=$_dockerup_root
if [ -x "$_dockerup_root/build/venv/bin/python" ]; then
  export PATH=$_dockerup_root/build/venv/bin:$PATH
fi
export ANSIBLE_COLLECTIONS_PATH=$_dockerup_root/build/collections
export ANSIBLE_PYTHON_INTERPRETER=${ANSIBLE_PYTHON_INTERPRETER:-$(python3 -c 'import sys; print(sys.executable)')}
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_LOCALHOST_WARNING=0
export ANSIBLE_INVENTORY_UNPARSED_WARNING=0
unset _dockerup_root
