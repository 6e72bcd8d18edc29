"""Replicas, autoscaling, disruption budgets, Services and probes: who answers, and when."""

from __future__ import annotations

from typing import Any

from tests.deploy.conftest import Rendered

Obj = dict[str, Any]
AUTOSCALED = {"auth", "auth-session", "directory"}
WORKERS = {"otp-worker", "audit-consumer"}


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def _pod_labels(deployment: Obj) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


def _least_replicas(overlay: Rendered, name: str) -> int:
    autoscalers = {
        h["spec"]["scaleTargetRef"]["name"]: h for h in overlay.of_kind("HorizontalPodAutoscaler")
    }
    hpa = autoscalers.get(f"identity-{name}")
    if hpa is not None:
        least: int = hpa["spec"]["minReplicas"]
        return least
    count: int = overlay.deployments()[name]["spec"]["replicas"]
    return count


def test_auth_the_session_check_and_directory_scale_on_cpu(overlay: Rendered) -> None:
    autoscalers = overlay.of_kind("HorizontalPodAutoscaler")
    assert {h["spec"]["scaleTargetRef"]["name"] for h in autoscalers} == {
        f"identity-{name}" for name in AUTOSCALED
    }
    for hpa in autoscalers:
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        (metric,) = hpa["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"
        assert metric["resource"]["target"]["type"] == "Utilization"
    for name in AUTOSCALED:
        # The autoscaler owns the count: a `replicas` here would reset it on every apply.
        assert "replicas" not in overlay.deployments()[name]["spec"]


def test_everything_runs_twice_but_the_console(overlay: Rendered) -> None:
    for name in overlay.deployments():
        assert _least_replicas(overlay, name) == (1 if name == "console" else 2), name


def test_every_replicated_deployment_keeps_one_pod_through_disruptions(overlay: Rendered) -> None:
    budgets = overlay.of_kind("PodDisruptionBudget")
    for name, deployment in overlay.deployments().items():
        mine = [
            b
            for b in budgets
            if _selects(b["spec"]["selector"]["matchLabels"], _pod_labels(deployment))
        ]
        if _least_replicas(overlay, name) < 2:
            # With one replica, minAvailable 1 would forbid every node drain.
            assert mine == [], name
            continue
        assert [b["spec"] for b in mine] == [
            {"minAvailable": 1, "selector": mine[0]["spec"]["selector"]}
        ]
    for budget in budgets:  # and each selects one Deployment's pods, no other's
        chosen = [
            d
            for d in overlay.of_kind("Deployment")
            if _selects(budget["spec"]["selector"]["matchLabels"], _pod_labels(d))
        ]
        assert len(chosen) == 1, budget["metadata"]["name"]


def test_each_deployment_matches_its_own_pods_only(overlay: Rendered) -> None:
    deployments = overlay.of_kind("Deployment")
    for deployment in deployments:
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert [d for d in deployments if _selects(selector, _pod_labels(d))] == [deployment]


def test_each_service_sends_to_one_deployment_on_its_http_port(overlay: Rendered) -> None:
    web = {name for name in overlay.deployments() if name not in WORKERS}
    services = {
        s["metadata"]["name"].removeprefix("identity-"): s for s in overlay.of_kind("Service")
    }
    assert set(services) == web
    for name, service in services.items():
        chosen = [
            d
            for d in overlay.of_kind("Deployment")
            if _selects(service["spec"]["selector"], _pod_labels(d))
        ]
        assert [d["metadata"]["name"] for d in chosen] == [f"identity-{name}"]
        (port,) = service["spec"]["ports"]
        (container,) = chosen[0]["spec"]["template"]["spec"]["containers"]
        assert {"name": port["targetPort"], "containerPort": port["port"]} in container["ports"]


def test_web_pods_are_probed_on_their_health_endpoints(overlay: Rendered) -> None:
    for name, deployment in overlay.deployments().items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        if name in WORKERS:
            assert "exec" in container["livenessProbe"]
            assert "readinessProbe" not in container  # no Service sends them anything
            continue
        liveness = container["livenessProbe"]["httpGet"]["path"]
        prefix = liveness.removesuffix("/healthz")
        assert liveness == f"{prefix}/healthz" and prefix.count("/") == 1
        assert container["startupProbe"]["httpGet"]["path"] == liveness
        # The console stays routable while MySQL or Redis is down, to show Checking.
        ready = "healthz" if name == "console" else "readyz"
        assert container["readinessProbe"]["httpGet"]["path"] == f"{prefix}/{ready}"
        assert container["lifecycle"]["preStop"] == {"sleep": {"seconds": 5}}
        rollout = deployment["spec"]["strategy"]
        if name != "console":
            assert rollout["rollingUpdate"]["maxUnavailable"] == 0


def test_the_worker_may_finish_a_delivery_before_it_is_killed(overlay: Rendered) -> None:
    spec = overlay.deployments()["otp-worker"]["spec"]["template"]["spec"]
    # Past IDENTITY_OTP_TASK_TIME_LIMIT_SECONDS's default (60 s): the warm shutdown waits.
    assert spec["terminationGracePeriodSeconds"] > 60
