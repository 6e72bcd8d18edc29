def test_create_and_get_user(admin):
    created = admin.post("/directory/users", json={"name": "Bob", "email": "Bob@Example.com"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["email"] == "bob@example.com"
    got = admin.get(f"/directory/users/{body['auth_user_id']}")
    assert got.status_code == 200
    assert got.json()["name"] == "Bob"
