-- 2099A001.2.per_elder as of 2024-09-30
SELECT min(per_member.extreme) AS smallest, coalesce(sum(per_member.records), 0) AS evidence, coalesce(sum(per_member.broken), 0) + 0 AS violations, coalesce(sum(per_member.broken), 0) AS missed, coalesce(sum(per_member.cells), 0) AS units, coalesce(sum(per_member.ok), 0) AS compliant, count(*) AS members, coalesce(sum(per_member.all_ok), 0) AS members_compliant, coalesce(min(per_member.all_reached), 0) AS all_reached, 0 AS not_due 
FROM (SELECT cells.member AS member, min(cells.ok) AS all_ok, min(CASE WHEN (cells.n >= 2.0) THEN 1 ELSE 0 END) AS all_reached, count(*) AS cells, sum(cells.ok) AS ok, sum(cells.broken) AS broken, sum(cells.records) AS records, min(cells.n) AS extreme 
FROM (SELECT members.member AS member, coalesce(counts.n, 0) AS n, CASE WHEN (CAST(coalesce(counts.n, 0) AS FLOAT) >= (1.7 * CAST((CAST('2024-09-30' AS DATE) - CAST(CASE WHEN (coalesce(members.since, '2024-06-01') < '2024-06-01') THEN '2024-06-01' ELSE coalesce(members.since, '2024-06-01') END AS DATE)) + 1 AS FLOAT)) / CAST(CAST((CAST('2025-03-31' AS DATE) - CAST(CASE WHEN (coalesce(members.since, '2024-06-01') < '2024-06-01') THEN '2024-06-01' ELSE coalesce(members.since, '2024-06-01') END AS DATE)) + 1 AS FLOAT) AS FLOAT) - 1e-09) THEN 1 ELSE 0 END AS ok, CASE WHEN false THEN 1 ELSE 0 END AS broken, coalesce(counts.records, 0) AS records 
FROM (SELECT m_roster.member AS member, coalesce(m_roster.enrolled, first_seen.first, '2024-06-01') AS since, m_roster.exited AS until 
FROM (SELECT m.person_id AS member, m.enrolled_on AS enrolled, m.exit_on AS exited 
FROM person AS m 
WHERE m.project_code = '2099A001' AND m.retired_at IS NULL AND (m.batch_id IS NULL OR (m.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND m.population = 'elders' AND (m.enrolled_on IS NULL OR m.enrolled_on <= '2024-09-30')) AS m_roster LEFT OUTER JOIN (SELECT f.person_id AS member, min(f.date) AS first 
FROM activity AS f 
WHERE f.project_code = '2099A001' AND f.retired_at IS NULL AND (f.batch_id IS NULL OR (f.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND f.date <= '2024-09-30' AND f.activity_type IN ('visit') AND f.person_id IS NOT NULL GROUP BY f.person_id) AS first_seen ON first_seen.member = m_roster.member) AS members JOIN (SELECT 0 AS slot, '2024-06-01' AS lo, '2025-03-31' AS hi) AS slots ON members.since <= slots.hi AND (members.until IS NULL OR members.until >= slots.lo) LEFT OUTER JOIN (SELECT r.person_id AS member, 0 AS slot, coalesce(sum(CASE WHEN true THEN 1 ELSE 0 END), 0) AS n, coalesce(sum(CASE WHEN true THEN 1 ELSE 0 END), 0) AS records 
FROM activity AS r 
WHERE r.project_code = '2099A001' AND r.retired_at IS NULL AND (r.batch_id IS NULL OR (r.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND r.date <= '2024-09-30' AND r.activity_type IN ('visit') AND r.person_id IS NOT NULL GROUP BY r.person_id) AS counts ON counts.member = members.member AND counts.slot = slots.slot) AS cells GROUP BY cells.member) AS per_member;
