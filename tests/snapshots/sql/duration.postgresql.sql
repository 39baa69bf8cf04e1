-- 2099A001.4.case_duration as of 2024-09-30
SELECT min(coalesce((((CAST(EXTRACT(year FROM cases.last) AS INTEGER) * 12 + CAST(EXTRACT(month FROM cases.last) AS INTEGER)) - 1) - ((CAST(EXTRACT(year FROM cases.first) AS INTEGER) * 12 + CAST(EXTRACT(month FROM cases.first) AS INTEGER)) - 1)) - CASE WHEN (CAST(EXTRACT(day FROM cases.last) AS INTEGER) < CAST(EXTRACT(day FROM cases.first) AS INTEGER)) THEN 1 ELSE 0 END, 0)) AS actual, coalesce(sum(cases.n), 0) AS evidence, 0 AS violations, count(*) AS units, min((((CAST(EXTRACT(year FROM '2025-03-31') AS INTEGER) * 12 + CAST(EXTRACT(month FROM '2025-03-31') AS INTEGER)) - 1) - ((CAST(EXTRACT(year FROM coalesce(cases.first, '2024-09-30')) AS INTEGER) * 12 + CAST(EXTRACT(month FROM coalesce(cases.first, '2024-09-30')) AS INTEGER)) - 1)) - CASE WHEN (CAST(EXTRACT(day FROM '2025-03-31') AS INTEGER) < CAST(EXTRACT(day FROM coalesce(cases.first, '2024-09-30')) AS INTEGER)) THEN 1 ELSE 0 END) AS potential 
FROM (SELECT m.person_id AS member, m.enrolled_on AS enrolled, m.exit_on AS exited 
FROM person AS m 
WHERE m.project_code = '2099A001' AND m.retired_at IS NULL AND (m.batch_id IS NULL OR (m.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND m.population = 'cases' AND (m.enrolled_on IS NULL OR m.enrolled_on <= '2024-09-30')) AS m_roster LEFT OUTER JOIN (SELECT r.person_id AS member, min(r.date) AS first, max(r.date) AS last, count(*) AS n 
FROM activity AS r 
WHERE r.project_code = '2099A001' AND r.retired_at IS NULL AND (r.batch_id IS NULL OR (r.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND r.date <= '2024-09-30' AND r.activity_type IN ('case_service') AND r.person_id IS NOT NULL GROUP BY r.person_id) AS cases ON cases.member = m_roster.member;
