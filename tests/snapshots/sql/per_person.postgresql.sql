-- 2099A001.2.per_elder as of 2024-09-30
SELECT min(coalesce(counts.n, 0)) AS actual, coalesce(sum(counts.records), 0) AS evidence, coalesce(sum(CASE WHEN false THEN 1 ELSE 0 END), 0) + 0 AS violations, count(*) AS units, count(distinct(m_roster.member)) AS members 
FROM (SELECT m.person_id AS member 
FROM person AS m 
WHERE m.project_code = '2099A001' AND m.retired_at IS NULL AND m.population = 'elders' AND (m.enrolled_on IS NULL OR m.enrolled_on <= '2024-09-30')) AS m_roster JOIN (SELECT CAST(0 AS INTEGER) AS slot) AS slot_set ON true LEFT OUTER JOIN (SELECT r.person_id AS member, 0 AS slot, coalesce(sum(CASE WHEN true THEN 1 ELSE 0 END), 0) AS n, coalesce(sum(CASE WHEN true THEN 1 ELSE 0 END), 0) AS records 
FROM activity AS r 
WHERE r.project_code = '2099A001' AND r.retired_at IS NULL AND r.date <= '2024-09-30' AND r.activity_type IN ('visit') AND r.person_id IS NOT NULL GROUP BY r.person_id) AS counts ON counts.member = m_roster.member AND counts.slot = slot_set.slot;
