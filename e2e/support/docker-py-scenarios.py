"""docker-py scenarios for e2e/docker-py-client.e2e.test.ts.

`python docker-py-scenarios.py <scenario>` runs one scenario against the
daemon DOCKER_HOST names (docker.from_env(), as users connect) and prints what
the user sees as one JSON document; the test file asserts on it. Every
scenario removes what it made. E2E_REGISTRY is the local registry (host:port)
and E2E_REMOTE an image pushed there beforehand.
"""

import contextlib
import io
import json
import os
import sys
import tarfile
import threading
import time

import docker
from docker.errors import APIError, ContainerError, ImageNotFound, NotFound

SUFFIX = "dockerpy"
LABEL = {"e2e.client": "docker-py"}


def client(**kwargs):
    return docker.from_env(**kwargs)


def name(what):
    return f"e2e-{SUFFIX}-{what}"


def text(data):
    return data.decode() if isinstance(data, bytes) else data


def tar_of(files):
    """An in-memory tar archive of {name: (bytes, mode)}."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path, (content, mode) in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(content)
            info.mode = mode
            archive.addfile(info, io.BytesIO(content))
    buffer.seek(0)
    return buffer


def error_of(call):
    """Status code and message of the APIError a call raises (None when it does not)."""
    try:
        call()
    except APIError as error:
        return {"status": error.status_code, "type": type(error).__name__, "explanation": text(error.explanation)}
    return None


@contextlib.contextmanager
def running(docker_client, command=("sleep", "3600"), **kwargs):
    """A busybox container run detached, removed afterwards."""
    container = docker_client.containers.run("busybox", list(command), detach=True, **kwargs)
    try:
        yield container
    finally:
        removing(container)


def removing(container):
    try:
        container.remove(force=True, v=True)
    except NotFound:
        pass


# --- system --------------------------------------------------------------------------


def ping_version_info():
    docker_client = client()
    version = docker_client.version()
    info = docker_client.info()
    return {
        "ping": docker_client.ping(),
        "version": {key: version.get(key) for key in ("ApiVersion", "MinAPIVersion", "Os")},
        "components": sorted(component["Name"] for component in version.get("Components", [])),
        "images": info["Images"],
        "containers_add_up": info["Containers"] == info["ContainersRunning"] + info["ContainersPaused"] + info["ContainersStopped"],
    }


def api_version():
    auto = docker.DockerClient(base_url=os.environ["DOCKER_HOST"], version="auto")
    default = client()
    pinned = client(version="1.41")
    return {
        "auto": auto.api.api_version,
        "default": default.api.api_version,
        "pinned": pinned.api.api_version,
        "pinned_lists": "/web" in [c.attrs["Names"][0] for c in pinned.containers.list(all=True, sparse=True)],
        "too_new": error_of(lambda: client(version="1.99").containers.list()),
    }


# --- containers ----------------------------------------------------------------------


def run_foreground():
    docker_client = client()
    output = docker_client.containers.run("busybox", ["sh", "-c", "echo out; echo err >&2"], remove=True)
    both = docker_client.containers.run("busybox", ["sh", "-c", "echo out; echo err >&2"], stderr=True, remove=True, name=name("run-both"))
    try:
        docker_client.containers.run("busybox", ["sh", "-c", "echo failing >&2; exit 3"], remove=True, name=name("run-failing"))
        failed = None
    except ContainerError as error:
        failed = {"exit_status": error.exit_status, "stderr": text(error.stderr)}
    left = [c.name for c in docker_client.containers.list(all=True) if c.name.startswith(name("run-"))]
    return {"output": text(output), "both": sorted(text(both).splitlines()), "failed": failed, "left": left}


def run_detached():
    docker_client = client()
    with running(docker_client, name=name("detached"), labels=LABEL) as container:
        container.reload()
        listed = [c.id for c in docker_client.containers.list(filters={"label": "e2e.client=docker-py"})]
        auto_removed = docker_client.containers.run("busybox", ["true"], detach=True, remove=True)
        status = auto_removed.wait()["StatusCode"]
        # Removal follows the exit, as with dockerd: give it 5 s.
        gone = False
        for _ in range(50):
            try:
                auto_removed.reload()
            except NotFound:
                gone = True
                break
            time.sleep(0.1)
        return {
            "status": container.status,
            "name": container.name,
            "listed": listed == [container.id],
            "image": container.image.tags,
            "auto_removed": {"exit": status, "gone": gone},
        }


def create_start_stop_remove():
    docker_client = client()
    container = docker_client.containers.create("busybox", ["sleep", "3600"], name=name("lifecycle"))
    try:
        states = [container.status]
        container.start()
        container.reload()
        states.append(container.status)
        container.stop(timeout=1)
        container.reload()
        states.append(container.status)
        container.remove()
        gone = error_of(lambda: docker_client.containers.get(name("lifecycle")))
        return {"states": states, "gone": gone}
    finally:
        removing(container)


def logs():
    docker_client = client()
    with running(docker_client, ["sh", "-c", "echo out1; echo err1 >&2; sleep 1; echo out2"]) as container:
        streamed = b"".join(container.logs(stream=True, follow=True))
        return {
            "streamed": sorted(text(streamed).splitlines()),
            "stdout": text(container.logs(stdout=True, stderr=False)),
            "stderr": text(container.logs(stdout=False, stderr=True)),
            "tail": text(container.logs(tail=1)),
            "timestamps": text(container.logs(stdout=True, stderr=False, timestamps=True)).split(" ")[0][:2],
        }


def attach():
    docker_client = client()
    container = docker_client.containers.create("busybox", ["sh", "-c", "echo out; echo err >&2; sleep 1; echo out2"])
    try:
        frames = container.attach(stream=True, demux=True)
        container.start()
        stdout, stderr = b"", b""
        for out, err in frames:
            stdout += out or b""
            stderr += err or b""
        return {"stdout": text(stdout), "stderr": text(stderr), "exit": container.wait()["StatusCode"]}
    finally:
        removing(container)


def exec_run():
    docker_client = client()
    with running(docker_client) as container:
        demuxed = container.exec_run(["sh", "-c", "echo out; echo err >&2; exit 3"], demux=True)
        merged = container.exec_run(["sh", "-c", "echo out"])
        environment = container.exec_run(["sh", "-c", 'echo "$GREETING $(id -un) $(pwd)"'], environment={"GREETING": "hi"}, user="nobody", workdir="/tmp")
        streamed = container.exec_run(["sh", "-c", "echo one; echo two"], stream=True)
        return {
            "demuxed": {"exit_code": demuxed.exit_code, "stdout": text(demuxed.output[0]), "stderr": text(demuxed.output[1])},
            "merged": {"exit_code": merged.exit_code, "output": text(merged.output)},
            "environment": text(environment.output),
            "streamed": text(b"".join(streamed.output)),
        }


def archives():
    docker_client = client()
    with running(docker_client) as container:
        put = container.put_archive("/etc", tar_of({"conf/app.ini": (b"[app]\nmode=test\n", 0o640)}))
        chunks, stat = container.get_archive("/etc/conf/app.ini")
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as archive:
            member = archive.getmember("app.ini")
            content = archive.extractfile(member).read()
        missing = error_of(lambda: container.get_archive("/no/such/path"))
        return {
            "put": put,
            "stat": {"name": stat["name"], "size": stat["size"], "mode": stat["mode"] & 0o777},
            "member": {"mode": member.mode, "size": member.size},
            "content": text(content),
            "missing": missing and missing["status"],
        }


def wait_and_kill():
    docker_client = client()
    with running(docker_client, ["sh", "-c", "exit 5"]) as exiting, running(docker_client) as sleeping:
        waited = exiting.wait()
        sleeping.kill(signal="SIGKILL")
        killed = sleeping.wait(timeout=30)
        sleeping.reload()
        not_running = error_of(lambda: sleeping.kill())
        return {"waited": waited["StatusCode"], "killed": killed["StatusCode"], "state": sleeping.status, "kill_stopped": not_running and not_running["status"]}


def stats():
    docker_client = client()
    with running(docker_client) as container:
        first = next(container.stats(stream=True, decode=True))
        one_shot = container.stats(stream=False)
        return {
            "id": first["id"] == container.id,
            "name": first["name"],
            "memory": first["memory_stats"]["usage"] > 0,
            "pids": first["pids_stats"]["current"],
            "read": bool(first["read"]),
            "one_shot_cpu": "cpu_usage" in one_shot["cpu_stats"],
        }


def remove():
    docker_client = client()
    with running(docker_client) as container:
        refused = error_of(lambda: container.remove())
        container.remove(force=True, v=True)
        gone = error_of(container.reload)
        return {"refused": refused and refused["status"], "gone": gone and gone["type"]}


# --- images --------------------------------------------------------------------------


def pull():
    docker_client = client()
    remote = os.environ["E2E_REMOTE"]
    repository, tag = remote.rsplit(":", 1)
    try:
        progress = list(docker_client.api.pull(repository, tag=tag, stream=True, decode=True))
        image = docker_client.images.pull(repository, tag=tag)
        return {
            "first": progress[0].get("status"),
            "statuses": [event.get("status") for event in progress if "Digest" in event.get("status", "") or "Status:" in event.get("status", "")],
            "errors": [event for event in progress if "error" in event],
            "tagged": remote in image.tags,
        }
    finally:
        docker_client.images.remove(remote)


def build():
    docker_client = client()
    tag = f"{name('built')}:v1"
    dockerfile = b'FROM busybox\nCOPY greeting.txt /greeting.txt\nRUN cat /greeting.txt > /copied\nCMD ["cat", "/copied"]\n'
    try:
        context = tar_of({"Dockerfile": (dockerfile, 0o644), "greeting.txt": (b"built by docker-py\n", 0o644)})
        image, log = docker_client.images.build(fileobj=context, custom_context=True, tag=tag, labels=LABEL, rm=True)
        steps = [entry["stream"] for entry in log if "stream" in entry]
        # The same names, sizes and times (tarfile's mtime 0), another content.
        context = tar_of({"Dockerfile": (dockerfile, 0o644), "greeting.txt": (b"BUILT BY DOCKER-PY\n", 0o644)})
        other, _ = docker_client.images.build(fileobj=context, custom_context=True, tag=f"{name('built')}:v2")
        dockerfile_only, _ = docker_client.images.build(fileobj=io.BytesIO(b"FROM busybox\nRUN echo one > /one\n"), tag=f"{name('built')}:v3")
        return {
            "tags": image.tags,
            "labels": image.labels,
            "steps": "".join(steps),
            "output": text(docker_client.containers.run(tag, remove=True)),
            "other_context": text(docker_client.containers.run(other.id, remove=True)),
            "dockerfile_only": text(docker_client.containers.run(dockerfile_only.id, ["cat", "/one"], remove=True)),
        }
    finally:
        for built in (tag, f"{name('built')}:v2", f"{name('built')}:v3"):
            try:
                docker_client.images.remove(built, force=True)
            except ImageNotFound:
                pass


def tag_and_push():
    docker_client = client()
    repository = f"{os.environ['E2E_REGISTRY']}/docker-py/pushed"
    busybox = docker_client.images.get("busybox")
    tagged = busybox.tag(repository, "v2")
    try:
        progress = list(docker_client.images.push(repository, tag="v2", stream=True, decode=True))
        docker_client.images.remove(f"{repository}:v2")
        pulled = docker_client.images.pull(repository, tag="v2")
        return {
            "tagged": tagged,
            "errors": [event for event in progress if "error" in event],
            "aux": next((event["aux"] for event in progress if "aux" in event), None),
            "pulled_back": pulled.id == busybox.id,
        }
    finally:
        docker_client.images.remove(f"{repository}:v2")


def save_and_load():
    docker_client = client()
    tag = f"{name('saved')}:v1"
    docker_client.images.get("busybox").tag(tag)
    try:
        archive = b"".join(docker_client.images.get(tag).save(named=tag))
        with tarfile.open(fileobj=io.BytesIO(archive)) as saved:
            names = saved.getnames()
        docker_client.images.remove(tag)
        gone = error_of(lambda: docker_client.images.get(tag))
        loaded = docker_client.images.load(archive)
        return {"has_manifest": "manifest.json" in names, "gone": gone and gone["type"], "loaded": [sorted(image.tags) for image in loaded]}
    finally:
        docker_client.images.remove(tag)


def image_inspect():
    docker_client = client()
    image = docker_client.images.get("busybox")
    listed = docker_client.images.list(name="busybox")
    return {
        "tags": "busybox:latest" in image.tags,
        "id": image.id.startswith("sha256:"),
        "os": image.attrs["Os"],
        "listed": [entry.id for entry in listed] == [image.id],
        "history": len(image.history()) > 0,
        "missing": error_of(lambda: docker_client.images.get("no-such-image:v0"))["type"],
    }


# --- volumes, networks, events -------------------------------------------------------


def volumes():
    docker_client = client()
    volume = docker_client.volumes.create(name("vol"), labels=LABEL)
    try:
        listed = [v.name for v in docker_client.volumes.list(filters={"label": "e2e.client=docker-py"})]
        docker_client.containers.run("busybox", ["sh", "-c", "echo kept > /data/file"], volumes={volume.name: {"bind": "/data", "mode": "rw"}}, remove=True)
        read = docker_client.containers.run("busybox", ["cat", "/data/file"], volumes=[f"{volume.name}:/data:ro"], remove=True)
        in_use = docker_client.containers.create("busybox", volumes=[f"{volume.name}:/data"])
        refused = error_of(volume.remove)
        in_use.remove()
        volume.reload()
        seen = {"name": volume.name, "driver": volume.attrs["Driver"], "labels": volume.attrs["Labels"], "listed": listed, "read": text(read), "refused": refused and refused["status"]}
    finally:
        volume.remove()
    return {**seen, "gone": error_of(lambda: docker_client.volumes.get(name("vol")))["type"]}


def networks():
    docker_client = client()
    network = docker_client.networks.create(name("net"), labels=LABEL)
    try:
        listed = [n.name for n in docker_client.networks.list(filters={"label": "e2e.client=docker-py"})]
        with running(docker_client, network=network.name) as container:
            container.reload()
            address = container.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
            network.reload()
            seen = {
                "name": network.name,
                "driver": network.attrs["Driver"],
                "listed": listed,
                "address": len(address.split(".")),
                "containers": [c.id for c in network.containers] == [container.id],
            }
    finally:
        network.remove()
    return {**seen, "gone": error_of(lambda: docker_client.networks.get(name("net")))["type"]}


def events():
    docker_client = client()
    since = int(time.time())
    stream = docker_client.events(decode=True, since=since, filters={"type": "container", "label": "e2e.events=docker-py"})
    seen = []

    def read():
        for event in stream:
            seen.append(event)
            if event["Action"] == "die":
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    with running(docker_client, ["true"], name=name("events"), labels={"e2e.events": "docker-py"}):
        reader.join(timeout=30)
        stream.close()
        return {"actions": [event["Action"] for event in seen], "name": seen[0]["Actor"]["Attributes"]["name"] if seen else None}


SCENARIOS = {
    function.__name__.replace("_", "-"): function
    for function in (
        ping_version_info, api_version, run_foreground, run_detached, create_start_stop_remove, logs, attach, exec_run, archives,
        wait_and_kill, stats, remove, pull, build, tag_and_push, save_and_load, image_inspect, volumes, networks, events,
    )
}

if __name__ == "__main__":
    json.dump(SCENARIOS[sys.argv[1]](), sys.stdout)
